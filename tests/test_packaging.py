"""A built wheel carries the knowledge files and finds them when installed (not editable)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = out.glob("*.whl")
    return built


def test_wheel_ships_knowledge_files_and_console_script(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for file in ("kb.toml", "symptoms.toml", "factors.toml", "rules.toml"):
        assert f"knowledge/{file}" in names
        assert f"knowledge/released/{file}" in names  # the last release: what `triage diff` and `release` compare with
    for name in ("public.toml", "public-v2.toml", "public-v3.toml"):
        assert f"triage/review/vignettes/{name}" in names
    # The breached-password list that nurse passwords are checked against, with its source and licence.
    assert {"web/storage/data/common-passwords.txt.gz", "web/storage/data/COMMON-PASSWORDS.md"} <= set(names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "triage = triage.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_installs_only_the_projects_own_packages(wheel: Path) -> None:
    """No top-level name an unrelated PyPI package owns (the old `records`), and nothing the
    product does not ship: tests, benchmarks and the verification tools stay in the checkout."""
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"triage", "knowledge", "web"}
    assert "web/storage/migrations/env.py" in names
    assert any(n.startswith("web/storage/migrations/versions/") for n in names)


def install(wheel: Path, target: Path) -> Path:
    """The wheel installed alone (no dependencies) into `target`, away from the repository."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    return target


def test_installed_wheel_answers_from_its_own_knowledge_files(wheel: Path, tmp_path: Path) -> None:
    target = install(wheel, tmp_path / "site")
    code = textwrap.dedent(
        """
        import json, triage, knowledge
        from triage import assess, default_assessor
        from triage.review.probes import default_case_files
        answer = assess(["redness:mild"], 6)
        print(json.dumps({"triage": triage.__file__, "kb_dir": default_assessor().kb.source_dir,
                          "disposition": answer.disposition.value, "digest": answer.kb_digest,
                          "released": default_assessor().kb.header.digest,
                          "cases": [str(p) for p in default_case_files()]}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # away from the repository, so only the installed copy can be imported
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "TRIAGE_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["triage"].startswith(str(target))
    assert seen["kb_dir"].startswith(str(target))
    assert seen["disposition"] == "expected"
    assert seen["digest"] == seen["released"] and seen["digest"].startswith("sha256:")  # production loads it
    assert len(seen["cases"]) == 3 and all(c.startswith(str(target)) for c in seen["cases"])


def test_the_wheel_speaks_spanish_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    """The translation and the catalogue ship as data (no compiled .mo file): an installed app
    compiles the catalogue at start-up and serves a Spanish page and a Spanish answer."""
    names = zipfile.ZipFile(wheel).namelist()
    assert "knowledge/i18n/es.toml" in names and "knowledge/released/i18n/es.toml" in names
    assert "web/translations/es/LC_MESSAGES/messages.po" in names
    assert not [n for n in names if n.endswith(".mo")]
    target = install(wheel, tmp_path / "site")
    code = textwrap.dedent(
        f"""
        import json, web
        from web import create_app
        app = create_app({{"TESTING": True, "DATABASE_URL": "sqlite://", "INSTANCE_PATH": {str(tmp_path / "inst")!r}}})
        client = app.test_client()
        page = client.get("/", headers={{"Accept-Language": "es"}}).get_data(as_text=True)
        answer = client.post("/api/v1/assess", json={{"symptoms": [{{"id": "redness"}}], "hours": 30}},
                             headers={{"Accept-Language": "es"}}).get_json()
        print(json.dumps({{"web": web.__file__, "lang": '<html lang="es">' in page,
                          "h1": "Revise su piel" in page, "reason": answer["findings"][0]["reason"]}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={
            "PYTHONPATH": f"{target}:{':'.join(p for p in sys.path if 'site-packages' in p)}",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["web"].startswith(str(target)) and seen["lang"] and seen["h1"]
    assert seen["reason"].startswith("Una rojez")
