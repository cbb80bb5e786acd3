"""Static files under content-hashed names, cached for a year.

`url_for('static', filename='style.css')` (the templates' helper, unchanged) gives
`/static/style.3f2a1b9c0d4e.css`: the name changes whenever the content does, so the browser
keeps the file for a year (`Cache-Control: public, max-age=31536000, immutable`) and never asks
again, and a new release's pages name the new file. The old, unhashed names still work (a page
cached or open from before a release, a bookmark): they are served as before, revalidated each
time (`no-cache` with an ETag). A hashed name whose hash is not the file's current one is 404,
so a year-long cache never holds other content under that name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, send_from_directory

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_LENGTH = 12
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)$")


def hashed_name(path: Path, relative: str) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = relative.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{relative}.{digest}"


def manifest(folder: Path) -> dict[str, str]:
    """Each static file's name (relative, with /) and its hashed name."""
    return {
        (relative := p.relative_to(folder).as_posix()): hashed_name(p, relative)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def install_static_files(app: Flask) -> None:
    """Hash the static files once at start-up; replace the static view and url_for's names."""
    assert app.static_folder is not None
    folder = Path(app.static_folder)
    names = manifest(folder)
    originals = {hashed: name for name, hashed in names.items()}
    app.extensions["static_manifest"] = names

    def static(filename: str) -> Response:
        original = originals.get(filename)
        if original is not None:
            response = send_from_directory(folder, original, max_age=31536000)
            response.headers["Cache-Control"] = IMMUTABLE
            return response
        if _HASHED.match(filename) and filename not in names:
            abort(404)  # a hash that is not the content's: never cache other content under it
        response = send_from_directory(folder, filename)
        response.headers["Cache-Control"] = REVALIDATE
        return response

    app.view_functions["static"] = static

    @app.url_defaults
    def _hashed(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and values.get("filename") in names:
            values["filename"] = names[values["filename"]]
