"""A clinician adds a symptom by editing data only: the form, the nurse console and the API follow."""

from __future__ import annotations

import html
import sys
from pathlib import Path

import pytest

from tests.kb_samples import add_symptom
from tests.support import MakeApp
from tests.web_helpers import csrf_token, signed_in_client
from triage.knowledge.files import KNOWLEDGE_DIR_ENV


@pytest.fixture
def edited_client(kb_copy: Path, monkeypatch: pytest.MonkeyPatch, make_app: MakeApp):  # type: ignore[no-untyped-def]
    """A new app process (fresh default assessor) started on a knowledge copy with one more symptom."""
    add_symptom(kb_copy)
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(kb_copy))
    monkeypatch.setattr(sys.modules["triage.answer.assess"], "_default", None)
    return signed_in_client(make_app())


def test_added_symptom_reaches_form_console_and_api(edited_client) -> None:  # type: ignore[no-untyped-def]
    form = html.unescape(edited_client.get("/").get_data(as_text=True))
    assert "Puffy eyes" in form and "Swelling around the eyes" in form

    listed = edited_client.get("/api/v1/knowledge").get_json()
    assert "puffy-eyes" in [s["id"] for s in listed["symptoms"]]

    answer = edited_client.post("/api/v1/assess", json={"symptoms": [{"id": "puffy-eyes"}], "hours": 50}).get_json()
    assert answer["disposition"] == "monitor"
    assert answer["findings"][0]["rule"] == "puffy-eyes-monitor"

    token = csrf_token(edited_client, "/nurse")
    page = edited_client.post(
        "/nurse", data={"symptoms": "puffy-eyes", "hours": "100", "timezone": "UTC", "csrf_token": token}
    )
    assert page.status_code == 200
    assert "puffy-eyes-contact" in page.get_data(as_text=True)
