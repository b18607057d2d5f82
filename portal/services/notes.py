"""Session notes and their amendments (spec section 4).

Notes are health data: nothing here logs their text, and audit rows record
only which fields changed. A note locks 24 hours after it was written; after
that the provider adds amendments, which are append-only."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from portal import clock, policies
from portal.domain.inputs import MAX_LONG_TEXT, as_uuid, metadata_problem, text_problem
from portal.errors import Conflict, Forbidden, ServiceError
from portal.extensions import db
from portal.models import Booking, SessionNote, SessionNoteAmendment
from portal.services.audit import audit_record

log = logging.getLogger(__name__)

LOCK_AFTER = timedelta(hours=24)
TEXT_FIELDS = ("notes", "follow_up_actions", "next_session_recommendation", "private_notes")
ENGAGEMENT_LEVELS = ("low", "medium", "high")
MAX_TEXT = MAX_LONG_TEXT


class NoteLocked(Conflict):
    code = "NOTE_LOCKED"


def note_locks_at(note: SessionNote) -> datetime:
    return note.created_at + LOCK_AFTER


def note_is_locked(note: SessionNote, now: datetime | None = None) -> bool:
    return (now or clock.now()) >= note_locks_at(note)


# The spec's key for "did the patient do the homework"; the portal first wrote
# homework_completed (migration 0016 renamed the stored ones, input still accepts it).
HOMEWORK_KEY = "homework_completion"
LEGACY_HOMEWORK_KEY = "homework_completed"


def _clean_metadata(raw: Any, errors: dict) -> dict:
    """Known keys checked (mood 1-10, engagement, homework yes/no); other keys kept as given."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors["metadata"] = "Must be an object."
        return {}
    clean = {str(k): v for k, v in raw.items() if v is not None and v != ""}
    if "mood_level" in clean:
        mood = clean["mood_level"]
        try:
            mood_int = int(str(mood))
        except ValueError:
            mood_int = None
        if isinstance(mood, bool) or mood_int is None or not 1 <= mood_int <= 10:
            errors["mood_level"] = "Mood is a whole number from 1 to 10."
        else:
            clean["mood_level"] = mood_int
    if "engagement" in clean and clean["engagement"] not in ENGAGEMENT_LEVELS:
        errors["engagement"] = "Engagement is low, medium or high."
    if LEGACY_HOMEWORK_KEY in clean:  # clients written before the spec's name: same meaning
        clean.setdefault(HOMEWORK_KEY, clean[LEGACY_HOMEWORK_KEY])
        del clean[LEGACY_HOMEWORK_KEY]
    if HOMEWORK_KEY in clean:
        value = clean[HOMEWORK_KEY]
        if isinstance(value, str) and value.lower() in ("yes", "true", "1", "no", "false", "0"):
            value = value.lower() in ("yes", "true", "1")
        if not isinstance(value, bool):
            errors[HOMEWORK_KEY] = "Homework completion is yes or no."
        else:
            clean[HOMEWORK_KEY] = value
    return clean


def note_validate(data: dict, *, partial: bool = False) -> dict:
    unknown = set(data) - set(TEXT_FIELDS) - {"metadata"}
    errors: dict = {k: "Unknown field." for k in sorted(unknown)}
    clean: dict = {}
    for field in TEXT_FIELDS:
        if field in data:
            value = data[field]
            problem = None if value is None else text_problem(value, max_length=MAX_TEXT, multiline=True)
            if problem:
                errors[field] = problem
            else:
                clean[field] = (value or "").strip()
    if "metadata" in data:
        problem = metadata_problem(data["metadata"])
        if problem:
            errors["metadata"] = problem
        else:
            clean["metadata_"] = _clean_metadata(data["metadata"], errors)
    if not partial and not clean.get("notes"):
        errors["notes"] = "Write what happened in the session."
    elif partial and "notes" in clean and not clean["notes"]:
        errors["notes"] = "The notes cannot be empty."
    if errors:
        raise ServiceError("Please correct the highlighted fields.", code="INVALID_REQUEST", fields=errors)
    return clean


def _filled(note: SessionNote) -> list[str]:
    """Names (never contents) of the fields that hold something: what the audit row may say."""
    return sorted(k.rstrip("_") for k in TEXT_FIELDS + ("metadata_",) if getattr(note, k))


def note_load(*, actor, note_id: Any) -> SessionNote:
    return policies.load(SessionNote, note_id, actor, missing="No such note.")


def _check_provider(actor, booking: Booking, provider_id: Any) -> None:
    """The spec's column, when a client names it: the booking's specialist, who is the writer."""
    if provider_id is None:
        return
    if as_uuid(provider_id) != booking.specialist_id:
        raise ServiceError("provider_id must be the booking's specialist.",
                           fields={"provider_id": "Not this booking's specialist."})
    if booking.specialist_id != actor.id:
        raise Forbidden("Only the booking's specialist writes its notes.")


def note_create(*, actor, booking_id: Any, data: dict, provider_id: Any = None) -> SessionNote:
    """A note by the booking's specialist about one of their own bookings. `provider_id`
    (the spec's column) is optional: when given it must be that specialist, the caller."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.",
                            fields={"booking_id": "Unknown booking."})
    _check_provider(actor, booking, provider_id)
    note = SessionNote(booking_id=booking.id, provider_id=actor.id)
    note.booking = booking
    if not policies.can("create", actor, note):
        raise Forbidden("Only the booking's specialist writes its notes.")
    for key, value in note_validate(data).items():
        setattr(note, key, value)
    db.session.add(note)
    db.session.flush()
    audit_record(actor=actor, action="session_note_created", entity_type="session_note",
                 entity_id=note.id, new_values={"booking_id": booking.id, "fields": _filled(note)})
    log.info("session note %s written for booking %s by %s", note.id, booking.id, actor.id)
    return note


def note_update(*, actor, note_id: Any, data: dict) -> SessionNote:
    """Change an unlocked note; a locked one answers NOTE_LOCKED (add an amendment instead)."""
    note = note_load(actor=actor, note_id=note_id)
    if not policies.can("update", actor, note):
        raise Forbidden("Only the note's author may change it.")
    if note_is_locked(note):
        raise NoteLocked("This note locked 24 hours after it was written and can no longer be "
                         "edited. Add an amendment instead.")
    changed = []
    for key, value in note_validate(data, partial=True).items():
        if getattr(note, key) != value:
            setattr(note, key, value)
            changed.append(key)
    if changed:
        db.session.flush()
        audit_record(actor=actor, action="session_note_updated", entity_type="session_note",
                     entity_id=note.id, new_values={"fields": sorted(k.rstrip("_") for k in changed)})
    return note


def amendment_add(*, actor, note_id: Any, text: Any) -> SessionNoteAmendment:
    """Append to a note (locked or not); amendments are never changed afterwards."""
    note = note_load(actor=actor, note_id=note_id)
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("Write the amendment.", code="INVALID_REQUEST", fields={"text": "Required."})
    problem = text_problem(text, max_length=MAX_TEXT, multiline=True)
    if problem:
        raise ServiceError("Please correct the highlighted fields.", code="INVALID_REQUEST", fields={"text": problem})
    amendment = SessionNoteAmendment(note_id=note.id, author_id=actor.id, text=text.strip())
    set_committed_value(amendment, "note", note)  # checked before it joins the session
    if not policies.can("create", actor, amendment):
        raise Forbidden("Only the note's author may amend it.")
    db.session.add(amendment)
    db.session.flush()
    db.session.expire(note, ["amendments"])
    audit_record(actor=actor, action="session_note_amended", entity_type="session_note",
                 entity_id=note.id, new_values={"amendment_id": amendment.id})
    return amendment


def note_delete(*, actor, note_id: Any) -> None:
    note = note_load(actor=actor, note_id=note_id)
    if not policies.can("delete", actor, note):
        raise Forbidden("Only administrators delete session notes.")
    audit_record(actor=actor, action="session_note_deleted", entity_type="session_note",
                 entity_id=note.id, old_values={"booking_id": note.booking_id,
                                                "provider_id": note.provider_id,
                                                "amendments": len(note.amendments)})
    for amendment in list(note.amendments):
        db.session.delete(amendment)
    db.session.delete(note)
    db.session.flush()
