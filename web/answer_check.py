"""The check of an answer against the API's schema, each distinct finding once.

spectree checks every response's bytes against the route's model (web.spectree_plugin). In
an answer of `/api/v1/assess` the findings are most of that check, and most of them are the
very objects of earlier answers: the phrasebook (triage.answer.phrasebook) shares worded
findings between answers. So the view checks its answer in two parts:

- the answer without its findings, every time (the report, advice, numbers, contact, and no
  field the model does not name), from the dict the response was written from;
- each finding, the first time that Finding object is sent: its JSON, written by the app's
  own writer, against FindingOut (remembered by identity, triage.engine.cache.IdentitySet).

A model checks each item of a list on its own, apart from the other fields, and a finding is
immutable and written on its own as within the answer, so the one checked once is the one sent
every time. The first part reads the dict, not the JSON (which would cost as much as the
whole check): for these fields it accepts nothing the JSON check refuses, tried with a value
of every kind in each field (tests/test_answer_check.py); where it is stricter (a NaN that
JSON writes as null in a field that may be null) the answer simply is not marked. A response
whose parts pass is marked, and the spectree plugin sends it without checking its bytes
again; one with a part that fails is not, so spectree's own check still answers it with its
500 and logs the mismatch. `data` must be what the response holds: answer.to_dict(), with
fields added.

An answer sent again (the same Assessment, from the answer cache) is soon not written nor
checked again: WrittenAnswers keeps the bytes that passed, for as long as the answer lives
(triage.engine.cache.IdentityMap).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel, ValidationError

from triage.answer.model import Assessment, Finding
from triage.answer.schema import FindingOut
from triage.engine.cache import IdentityMap, IdentitySet

CHECKED = "schema_checked"  # the attribute on a Response naming the model its parts passed
REMEMBERED = 4096  # findings remembered as checked; then the memory starts again
SEEN_ONCE = 1024  # answers remembered as sent once (WrittenAnswers); then the memory starts again


class AnswerCheck:
    """Checks answers against `model` (an AnswerOut), each distinct finding once."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self._checked: IdentitySet[Finding] = IdentitySet(REMEMBERED)  # the findings checked lately

    def passes(self, response: Response, answer: Assessment, data: dict[str, Any]) -> bool:
        """Whether the response (made from `data`, see the module docstring) fits the model."""
        try:
            self.model.model_validate({**data, "findings": [], "more_detail": []})
            findings = (*answer.findings, *answer.more_detail)
            shapes = (*data["findings"], *data["more_detail"])
            if len(shapes) != len(findings):
                return False
            for i in self._checked.unseen(findings):
                FindingOut.model_validate_json(jsonify(shapes[i]).get_data())
                self._checked.add(findings[i])
        except (ValidationError, ValueError, KeyError, TypeError):
            return False
        return True

    def mark(self, response: Response, answer: Assessment, data: dict[str, Any]) -> Response:
        """The response, marked as checked when its parts pass."""
        return self.mark_written(response) if self.passes(response, answer, data) else response

    def mark_written(self, response: Response) -> Response:
        """A response whose parts passed this check (now, or before: WrittenAnswers), marked as checked."""
        setattr(response, CHECKED, self.model)
        return response

    def marked(self, response: Response) -> bool:
        """Whether the response's parts passed this check."""
        return getattr(response, CHECKED, None) is self.model


class WrittenAnswers:
    """The checked JSON of answers already sent, kept while the answer object lives.

    A report asked again is answered by the very Assessment the answer cache holds
    (triage.answer.assess), so its response would be written and checked again to the same bytes.
    Those bytes are kept with the answer instead and sent as they are: an entry goes when its
    answer is dropped (a weak reference), so memory follows the answer cache. Bytes are kept
    from the second time an answer object is sent, as the answer cache keeps answers from a
    report's second time: an answer made for one request only (a new report, most of them)
    costs a weak reference in a bounded list of those seen once, not a copy of its bytes. The
    clinic whose contact the bytes hold is part of the entry. Only bytes that passed the
    check are offered."""

    def __init__(self) -> None:
        self._bodies: IdentityMap[Assessment, tuple[object, bytes]] = IdentityMap()  # answer -> (clinic, bytes)
        self._seen: IdentitySet[Assessment] = IdentitySet(SEEN_ONCE)  # answers sent once

    def get(self, answer: Assessment, clinic: object) -> bytes | None:
        """The bytes sent for this very answer object with this clinic's contact, or None."""
        entry = self._bodies.get(answer)
        if entry is not None and entry[0] is clinic:
            return entry[1]
        return None

    def offer(self, answer: Assessment, clinic: object, response: Response) -> None:
        """The response just sent for this answer (it passed the check): kept when this answer
        object was sent before, else noted as sent once."""
        if self._seen.add(answer):  # sent before: kept now
            self.keep(answer, clinic, response.get_data())

    def keep(self, answer: Assessment, clinic: object, body: bytes) -> None:
        self._bodies.put(answer, (clinic, body))

    def __len__(self) -> int:
        return len(self._bodies)
