"""CDS Hooks feedback in the records database: stored as the EHR reports it, read for review.

Beside the store's record transactions (web.storage.store), with the same audit trail: each
batch of feedback is one audit event ("cds-feedback", from the EHR that sent it), naming how
many cards and outcomes, never the comments.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.storage.models import CdsFeedback, utcnow
from web.storage.store import _cell, audit, storable

CSV_COLUMNS = (
    "received_at",
    "service_id",
    "card_uuid",
    "outcome",
    "outcome_at",
    "override_code",
    "override_system",
    "override_display",
    "user_comment",
    "accepted_suggestions",
    "issuer",
)


@dataclass(frozen=True)
class FeedbackItem:
    """One card's outcome as the CDS Hooks feedback request gives it (already checked)."""

    card_uuid: str
    outcome: str  # accepted | overridden
    outcome_at: str | None = None
    override_code: str | None = None
    override_system: str | None = None
    override_display: str | None = None
    user_comment: str | None = None
    accepted_suggestions: list[Any] = field(default_factory=list)


def add_feedback(session: Session, service_id: str, items: Sequence[FeedbackItem], issuer: str | None) -> int:
    """Store each card's outcome; one audit event for the batch. Returns how many were stored."""
    now = utcnow()
    for item in items:
        session.add(
            CdsFeedback(
                received_at=now,
                service_id=service_id,
                card_uuid=item.card_uuid,
                outcome=item.outcome,
                outcome_at=item.outcome_at,
                override_code=item.override_code,
                override_system=item.override_system,
                override_display=storable(item.override_display) if item.override_display else None,
                user_comment=storable(item.user_comment) if item.user_comment else None,
                accepted_suggestions=list(item.accepted_suggestions),
                issuer=issuer,
            )
        )
    outcomes = ", ".join(sorted({i.outcome for i in items}))
    actor = f"ehr:{issuer}"[:80] if issuer else "ehr"  # the audit trail's actor column holds 80
    audit(session, actor, "cds-feedback", None, f"{len(items)} card(s): {outcomes}")
    session.flush()
    return len(items)


def feedback_rows(session: Session, limit: int | None = None) -> list[CdsFeedback]:
    """The feedback received, newest first (for clinical review)."""
    query = select(CdsFeedback).order_by(CdsFeedback.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def feedback_csv(rows: Sequence[CdsFeedback]) -> str:
    """The feedback as CSV for the clinical lead (cells a spreadsheet would run are kept text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = [getattr(row, c) for c in CSV_COLUMNS]
        writer.writerow("" if v is None else _cell(" ".join(v) if isinstance(v, list) else v) for v in values)
    return out.getvalue()
