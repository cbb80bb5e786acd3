"""A record's call-back requests for its FHIR export, as Tasks (triage.exports.fhir.call_back_task):
read here so the export itself stays free of the database. No phone number, no nurse's note."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from triage.exports.fhir import CallBackRequest, call_back_task
from web.storage.followups import TimeWindow
from web.storage.models import FollowUp, Record


def call_back_tasks(session: Session, record: Record) -> list[dict[str, Any]]:
    items = session.scalars(
        select(FollowUp)
        .where(FollowUp.record_id == record.id, FollowUp.requested_at.is_not(None))
        .order_by(FollowUp.id)
        .options(selectinload(FollowUp.claimed_by), selectinload(FollowUp.closed_by))
    )
    return [
        call_back_task(
            record.reference,
            CallBackRequest(
                item=i.id,
                seq=i.entry_seq,
                requested_at=i.requested_at,
                window=i.time_window or TimeWindow.ANY,
                claimed_by=i.claimed_by.username if i.claimed_by else None,
                attempts=i.attempts,
                outcome=i.outcome,
                closed_at=i.closed_at,
                closed_by=i.closed_by.username if i.closed_by else None,
            ),
        )
        for i in items
        if i.requested_at is not None
    ]
