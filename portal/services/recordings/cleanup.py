"""Deleting recordings, file and row together: by an admin, or past their expiry (the daily job)."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa

from portal import clock, policies
from portal.errors import Forbidden
from portal.extensions import db
from portal.models import MeetingRecording, RecordingAccessCode
from portal.services.audit import audit_record
from portal.services.recordings import recording_load
from portal.services.recordings.storage import get_storage

log = logging.getLogger(__name__)


def recording_delete(*, actor, recording_id: Any) -> None:
    recording = recording_load(actor=actor, recording_id=recording_id)
    if not policies.can("delete", actor, recording):
        raise Forbidden("Only administrators delete recordings.")
    _delete_row_and_file(recording, actor=actor, reason="deleted")


def _delete_row_and_file(recording: MeetingRecording, *, actor, reason: str) -> bool:
    """Row first (flushed), then the file; the caller commits. True if the file was there."""
    audit_record(actor=actor, action="recording_deleted", entity_type="meeting_recording",
                 entity_id=recording.id, old_values={
                     "booking_id": recording.booking_id, "storage_path": recording.storage_path,
                     "expires_at": recording.expires_at, "reason": reason})
    db.session.delete(recording)
    db.session.flush()
    return get_storage().delete(recording.storage_path)


def recordings_cleanup() -> dict:
    """Delete every recording past its expires_at, file and row together, each in its
    own transaction: a missing file is counted and the row still goes; a failure is
    rolled back, counted and the rest carry on. Commits, and audits the run."""
    now = clock.now()
    expired = list(db.session.scalars(
        sa.select(MeetingRecording.id).where(MeetingRecording.expires_at <= now)
        .order_by(MeetingRecording.expires_at)
    ))
    result = {"checked": len(expired), "deleted": 0, "missing_files": 0, "errors": 0}
    for recording_id in expired:
        outcome = _cleanup_one(recording_id)
        if outcome == "error":
            result["errors"] += 1
        elif outcome is not None:
            result["deleted"] += 1
            result["missing_files"] += outcome == "missing"
    purged = db.session.execute(sa.delete(RecordingAccessCode).where(RecordingAccessCode.expires_at < now))
    log.info("recording clean-up: %s spent or expired link codes removed", purged.rowcount)
    audit_record(actor=None, action="recordings_cleaned_up", entity_type="meeting_recording",
                 new_values=result, status="success_with_errors" if result["errors"] else "success")
    db.session.commit()
    return result


def _cleanup_one(recording_id: uuid.UUID) -> str | None:
    """Delete one expired recording in its own transaction: "deleted", "missing"
    (row deleted, file was already gone), "error" (nothing changed) or None (gone already)."""
    try:
        with db.session.begin_nested():  # a failure undoes this recording's changes only
            recording = db.session.get(MeetingRecording, recording_id)
            if recording is None:
                return None
            file_was_there = _delete_row_and_file(recording, actor=None, reason="expired")
    except Exception:
        log.exception("recording %s could not be cleaned up", recording_id)
        return "error"
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("recording %s: clean-up could not be committed", recording_id)
        return "error"
    if not file_was_there:
        log.warning("recording %s: file was already missing", recording_id)
    return "deleted" if file_was_there else "missing"
