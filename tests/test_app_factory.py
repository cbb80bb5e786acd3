"""create_app owns its engine and its start-up work: the knowledge base comes from the app's
config, and migrating at start-up is a setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kb_samples import add_symptom
from tests.support import MakeApp
from web import ConfigError


def test_an_app_decides_with_the_knowledge_base_its_config_names(kb_copy: Path, make_app: MakeApp) -> None:
    add_symptom(kb_copy)
    edited = make_app(KNOWLEDGE_DIR=str(kb_copy))
    shipped = make_app()
    report = {"symptoms": [{"id": "puffy-eyes"}], "hours": 50}
    answer = edited.test_client().post("/api/v1/assess", json=report)
    assert answer.status_code == 200 and answer.get_json()["findings"][0]["symptom"] == "puffy-eyes"
    # The other app, in the same process, still decides with the shipped knowledge base.
    refused = shipped.test_client().post("/api/v1/assess", json=report)
    assert refused.status_code == 422 and "puffy-eyes" in refused.get_data(as_text=True)
    assert "puffy-eyes" in edited.test_client().get("/").get_data(as_text=True)
    assert "puffy-eyes" not in shipped.test_client().get("/").get_data(as_text=True)


def test_a_broken_knowledge_dir_stops_the_start(kb_copy: Path, make_app: MakeApp) -> None:
    (kb_copy / "rules.toml").write_text("not = [valid")
    with pytest.raises(Exception, match=r"rules\.toml"):
        make_app(KNOWLEDGE_DIR=str(kb_copy))


def test_without_migrate_on_start_an_unmigrated_database_stops_the_start(make_app: MakeApp) -> None:
    with pytest.raises(ConfigError, match="flask --app web db upgrade"):
        make_app(MIGRATE_ON_START=False)


def test_without_migrate_on_start_a_migrated_database_serves(make_app: MakeApp) -> None:
    make_app().extensions["triage_db"].dispose()  # the first start migrates
    app = make_app(MIGRATE_ON_START=False)
    assert app.test_client().get("/healthz").status_code == 200
