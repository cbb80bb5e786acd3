"""spectree's Flask plugin without the per-request work our routes never use.

spectree (3.0) validates every API request and response. Its Flask plugin, for each request,
copies every request header and parses the cookies even when the route declares no header or
cookie model (none of ours does), and after validating a response's JSON it builds a second
response from the same bytes and headers: work repeated on every API request for nothing.

This plugin keeps spectree's checks and their results exactly: the request body is validated
by the same model adapter into the same `request.context`; every response is validated from
the bytes it will send, against the model for its status code, unless the view checked what
it holds against that model part by part (web.answer_check marks it). A response that passes
is sent as the view built it (the copy spectree makes would be equal to it: same status,
bytes and headers); one that does not is handed to spectree's own code, so a broken answer is
still replaced by spectree's 500 and the `after` hook still logs it (tests/test_web_api.py).
"""

from __future__ import annotations

from typing import Any

import flask
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.response import Response as Responses

from web.answer_check import CHECKED


class LeanFlaskPlugin(FlaskPlugin):
    """FlaskPlugin with lazy request parts and no copy of a valid response (see the module docstring)."""

    def request_validation(self, request: Any, query: Any, json: Any, form: Any, headers: Any, cookies: Any) -> None:
        if query or form or headers or cookies:  # not used by this app; spectree's own code then
            super().request_validation(request, query, json, form, headers, cookies)  # type: ignore[no-untyped-call]
            return
        # As FlaskPlugin.request_validation with only a JSON model: the same condition, the same call.
        has_data = request.method not in ("GET", "DELETE")
        use_json = json and has_data and request.mimetype not in self.FORM_MIMETYPE
        request.context = Context(
            None,
            self.model_adapter.validate_obj(json, request.get_json(silent=True) or {}) if use_json else None,
            None,
            None,
            None,
        )

    def validate_response(
        self, resp: Any, resp_model: Responses | None, skip_validation: bool, force_resp_serialize: bool
    ) -> tuple[Any, Any]:
        checkable_here = isinstance(resp, flask.Response) and not (skip_validation or force_resp_serialize)
        if checkable_here and resp_model is not None:
            model = resp_model.find_model(resp.status_code)
            if model is not None and getattr(resp, CHECKED, None) is model:
                return resp, None  # checked in parts by the view (web.answer_check)
            if model is not None:
                try:
                    self.model_adapter.validate_json(model, resp.get_data())
                except self.model_adapter.validation_error:
                    pass  # spectree's own code below answers it (its 500) and reports the error to `after`
                else:
                    return resp, None
        spectrees: tuple[Any, Any] = super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)
        return spectrees
