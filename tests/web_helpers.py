"""Helpers for the web tests: CSRF tokens and complete form answers."""

from __future__ import annotations

import re
from typing import Any

from tests.support import NURSE


def csrf_token(client: Any, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: Any, username: str, password: str) -> None:
    """Sign a test client in as a nurse through the login form."""
    token = csrf_token(client, "/nurse/login")
    response = client.post("/nurse/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def signed_in_client(app: Any) -> Any:
    """A test client of `app` signed in as a nurse (the account is made if missing)."""
    from sqlalchemy import select

    from web.storage import store
    from web.storage.models import Nurse

    with app.extensions["triage_db"].transaction() as session:
        if session.scalar(select(Nurse).where(Nurse.username == NURSE[0])) is None:
            store.create_nurse(session, *NURSE)
    client = app.test_client()
    sign_in(client, *NURSE)
    return client


def patient_form(
    symptoms: dict[str, str], hours: str = "30", factors: tuple[str, ...] = (), worsening: str = "no", **extra: str
) -> dict[str, Any]:
    """A patient form: the symptoms with their severities, the risk factors ticked (`factors`;
    the others unticked, which means no), the hours and "getting worse"."""
    data: dict[str, Any] = {"symptom": list(symptoms), "hours": hours, "worsening": worsening, "timezone": "UTC"}
    data.update({f"severity-{sid}": sev for sid, sev in symptoms.items()})
    data["factor"] = list(factors)
    data.update(extra)
    return data
