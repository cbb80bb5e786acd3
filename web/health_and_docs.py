"""Service pages beside the API: /healthz for load balancers, and the API's description
(/api/openapi.json, and /api/docs rendered from it). Its blueprint is "meta".
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template, request
from spectree import Response as Responses

from web.api_document import api_document
from web.assessor import current_knowledge
from web.openapi import spec
from web.schemas import Health

meta = Blueprint("meta", __name__)


@meta.get("/healthz")
@spec.validate(resp=Responses(HTTP_200=Health), tags=["operations"])
def healthz() -> Response:
    """Liveness for load balancers: the knowledge base is loaded and its engine built."""
    kb = current_knowledge()
    response = jsonify({"status": "ok", "kb_version": kb.version, "kb_digest": kb.digest})
    response.headers["Cache-Control"] = "no-store"
    return response


@meta.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document, generated from the models that validate requests (web.api_document)."""
    return jsonify(api_document(current_knowledge(), request.host_url))


@meta.get("/api/docs")
def docs() -> str:
    """A self-contained API reference rendered from the OpenAPI document (no scripts, no CDN)."""
    document = api_document(current_knowledge(), request.host_url)
    return render_template("api_docs.html", spec=document, pretty=lambda v: json.dumps(v, indent=2))
