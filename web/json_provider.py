"""The app's JSON responses, written by orjson.

Flask writes `jsonify` responses with the standard library's `json.dumps`. For an answer of
`/api/v1/assess` that was a measurable share of the request; orjson writes the same bytes
in a fraction of the time (figures in benchmarks/RESULTS.md).
Only responses change writer: `app.json.dumps` (templates' `tojson`) is Flask's own.

The JSON is Flask's in production: keys sorted, compact, a newline at the end, and what orjson
cannot write itself (dates, dataclasses, objects with `__html__`) goes through Flask's own
`default`, so it is written as Flask writes it; what orjson refuses (keys that are not
text, integers beyond 64 bits) is written by Flask's own writer. Two differences of form, not of value
(tests/test_json_provider.py): text outside ASCII is sent as UTF-8, JSON's own encoding (RFC
8259), rather than as \\u escapes; a number whose magnitude is below 0.0001 is written in plain
or exponent form where Python writes the other (0.00001 for 1e-05, 1e-7 for 1e-07).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

_AS_FLASK = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # to Flask's `default`
_OPTIONS = _AS_FLASK | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


class OrjsonProvider(DefaultJSONProvider):
    """DefaultJSONProvider whose responses orjson writes (see the module docstring)."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if not self.sort_keys or self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented (debug) or unsorted: Flask's writer
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # keys that are not text, integers beyond 64 bits: Flask's writer
            return super().response(obj)
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]
