"""The API document says everything (web/api_document.py): the knowledge base's ids as enums,
when `hours` may be null, the CDS Hooks routes, `servers`; and a short schemathesis run over the
whole document with every check on finds no failure."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from tests.support import build_app, shipped_kb
from triage.vocabulary import SEVERITIES

APP = build_app(LOG_REQUESTS=False)  # made while collected: schemathesis reads the document then
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
_checks = schema.config.checks
# A schema-breaking body may also be too large (413, documented): rejected too.
_checks.negative_data_rejection.expected_statuses = [*_checks.negative_data_rejection.expected_statuses, "413"]
# A schema-valid report the engine cannot answer is a 422 naming the field, as the document says:
# no hours where the answer depends on them, no symptom without a factor answered without one,
# hours text that reads as no number. The check still fails on any other status (a 400 or a 5xx).
_checks.positive_data_acceptance.expected_statuses = ["2XX", "422"]


def test_the_document_has_the_knowledge_bases_ids_and_when_hours_may_be_null() -> None:
    document = APP.test_client().get("/api/openapi.json").get_json()
    kb = shipped_kb()
    schemas = document["components"]["schemas"]
    assert schemas["SymptomIn"]["properties"]["id"]["enum"] == list(kb.symptoms)
    assert schemas["AssessRequest"]["properties"]["factors"]["items"]["enum"] == list(kb.factors)
    assert schemas["Severity"]["enum"] == list(SEVERITIES)
    hours = schemas["AssessRequest"]["properties"]["hours"]
    assert {"type": "null"} in hours["anyOf"]
    assert "null (or left out) is answered only when" in hours["description"]
    assert " breathing-difficulty," in hours["description"] and " redness," not in hours["description"]
    assert {"/cds-services", "/cds-services/{service_id}", "/cds-services/{service_id}/feedback"} <= set(
        document["paths"]
    )
    assert document["servers"] == [
        {"url": "http://localhost/", "description": "This server, as the document was requested from it"}
    ]
    behind = APP.test_client().get("/api/openapi.json", base_url="https://triage.example.org").get_json()
    assert behind["servers"][0]["url"] == "https://triage.example.org/"


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_passes_over_the_whole_document(case: Any) -> None:
    # Bodies uncompressed: the WSGI client does not decode brotli or gzip (tests/test_web_fast.py).
    case.call_and_validate(headers={"Accept-Encoding": "identity"})
