"""Who decided, as FHIR R4 resources: the engine as a Device, a nurse as a Practitioner.

A receiving EHR reads the performer of each RiskAssessment from these. The engine's Device
names the knowledge base version and content digest that decided (one Device per distinct
knowledge base among a record's answers); a nurse is a Practitioner with an opaque, stable
identifier and no name, as a record holds no one's name (docs/SECURITY.md).
"""

from __future__ import annotations

import uuid
from typing import Any

ENGINE_SYSTEM = "urn:microneedling-triage:engine"
ENGINE_NAME = "Microneedling side-effect triage engine"
NURSE_SYSTEM = "urn:microneedling-triage:nurse"
UNRECORDED_DIGEST = "not recorded"  # answers stored before digests have none

_NURSE_NAMESPACE = uuid.UUID("3d5e0f7a-2c41-5b8e-9f10-6a7b8c9d0e1f")


def engine_device(kb_version: str, kb_digest: str, organization_url: str | None) -> dict[str, Any]:
    """The engine that gave an answer, at the knowledge base that decided it; owned by the clinic."""
    device: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": [{"system": ENGINE_SYSTEM, "value": f"{kb_version}|{kb_digest}"}],
        "status": "active",
        "deviceName": [{"name": ENGINE_NAME, "type": "manufacturer-name"}],
        "type": {"text": "Rule-based clinical decision support software"},
        "version": [
            {"type": {"text": "knowledge base version"}, "value": kb_version},
            {"type": {"text": "knowledge base content digest"}, "value": kb_digest},
        ],
    }
    if organization_url is not None:
        device["owner"] = {"reference": organization_url}
    return device


def nurse_id(username: str) -> str:
    """An opaque, stable id for a nurse account: the same nurse is the same Practitioner in
    every export, and the id does not spell the account name."""
    return str(uuid.uuid5(_NURSE_NAMESPACE, username))


def practitioner(username: str) -> dict[str, Any]:
    """A nurse as a Practitioner: an identifier only (R4 needs no name)."""
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": NURSE_SYSTEM, "value": nurse_id(username)}],
        "active": True,
    }
