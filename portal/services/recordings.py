"""Meeting recordings (spec section 5): admins attach files to bookings; the
booking's parties and admins play them through signed, expiring links bound
to the user they were issued to; a daily job deletes expired recordings."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from portal import clock, policies
from portal.extensions import db
from portal.models import Booking, MeetingRecording
from portal.models.recordings import RECORDING_FORMATS
from portal.services import Conflict, Forbidden, NotFound, ServiceError, load_visible
from portal.services.audit import audit_record
from portal.services.recording_formats import (
    SNIFF_BYTES,
    content_matches,
    ebml_duration_seconds,
    mp4_duration_seconds,
)
from portal.services.recording_storage import get_storage, remove_unless_committed

log = logging.getLogger(__name__)

LINK_SALT = "meeting-recording-link"


def recording_load(*, actor, recording_id: Any) -> MeetingRecording:
    return load_visible(MeetingRecording, recording_id, actor, "recording")


def _extension(filename: str | None) -> str:
    name = (filename or "").rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in RECORDING_FORMATS:
        raise ServiceError("Upload an mp4, webm, mov or mkv file.", code="UNSUPPORTED_FORMAT",
                           fields={"file": "Unsupported file type."})
    return extension


def _check_details(duration_seconds: Any, expires_at: datetime | None) -> int | None:
    if duration_seconds in (None, ""):
        duration = None
    else:
        try:
            duration = int(str(duration_seconds))
        except ValueError:
            duration = -1
        if duration < 0 or duration > 7 * 24 * 3600:
            raise ServiceError("Duration is a whole number of seconds.", code="INVALID_REQUEST",
                               fields={"duration_seconds": "Enter whole seconds (0 or more)."})
    if expires_at is not None and expires_at.tzinfo is None:
        raise ServiceError("Expiry needs a time zone.", code="INVALID_REQUEST",
                           fields={"expires_at": "Give a time zone."})
    return duration


def recording_attach(*, actor, booking_id: Any, filename: str | None, stream: BinaryIO,
                     duration_seconds: Any = None, expires_at: datetime | None = None) -> MeetingRecording:
    """Store an uploaded file (copied in chunks, never read whole) and record it."""
    booking = load_visible(Booking, booking_id, actor, "booking")
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id)
    if not policies.can("create", actor, recording):
        raise Forbidden("Only administrators attach recordings.")
    extension = _extension(filename)
    duration = _check_details(duration_seconds, expires_at)
    key = f"sessions/{clock.now():%Y-%m}/booking-{booking.id}-{recording.id}.{extension}"
    storage = get_storage()
    size = storage.save(key, stream)
    try:
        if size == 0 or not content_matches(extension, storage.head(key, SNIFF_BYTES)):
            raise ServiceError(f"The file's content is not a {extension} video.", code="UNSUPPORTED_FORMAT",
                               fields={"file": "Content does not match the file type."})
        if duration is None:
            duration = _probe_duration(storage, key, size, extension)
        recording.storage_path, recording.storage_size_bytes = key, size
        recording.file_format, recording.duration_seconds = extension, duration
        recording.expires_at, recording.is_encrypted = expires_at, False
        db.session.add(recording)
        db.session.flush()
        audit_record(actor=actor, action="recording_attached", entity_type="meeting_recording",
                     entity_id=recording.id, new_values={
                         "booking_id": booking.id, "file_format": extension, "storage_size_bytes": size,
                         "duration_seconds": duration, "expires_at": expires_at})
    except BaseException:
        storage.delete(key)
        raise
    remove_unless_committed(db.session(), storage, key)
    log.info("recording %s attached to booking %s (%s bytes)", recording.id, booking.id, size)
    return recording


STORAGE_PATH_MAX = 500


def _clean_storage_path(value: Any) -> str:
    """A key inside the configured storage: relative, no '..', no backslashes."""
    path = value.strip() if isinstance(value, str) else ""
    parts = path.split("/")
    if not path or len(path) > STORAGE_PATH_MAX or path.startswith("/") or "\\" in path \
            or any(part in ("", ".", "..") for part in parts) or any(ord(c) < 32 for c in path):
        raise ServiceError("storage_path must be a relative key inside the recordings storage.",
                           fields={"storage_path": f"A relative path without '..', at most {STORAGE_PATH_MAX} "
                                                   "characters."})
    return path


def _clean_registration(values: dict) -> dict:
    errors = {}
    file_format = str(values.get("file_format") or "").lower()
    if file_format not in RECORDING_FORMATS:
        errors["file_format"] = "One of " + ", ".join(RECORDING_FORMATS) + "."
    size = values.get("storage_size_bytes")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
        errors["storage_size_bytes"] = "A whole number of bytes (0 or more)."
    if errors:
        raise ServiceError("Some fields are invalid.", fields=errors)
    return {"file_format": file_format, "storage_size_bytes": size}


def recording_register(*, actor, booking_id: Any, storage_path: Any, file_format: Any,
                       storage_size_bytes: Any, duration_seconds: Any = None,
                       expires_at: datetime | None = None) -> MeetingRecording:
    """Record a file already stored elsewhere (the spec's columns, no upload): admins only.
    `storage_path` is its key in the configured recordings storage, where playback and the
    expiry clean-up look for it. The same key cannot be registered twice (CONFLICT)."""
    booking = load_visible(Booking, booking_id, actor, "booking", fields={"booking_id": "Unknown booking."})
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id)
    if not policies.can("create", actor, recording):
        raise Forbidden("Only administrators register recordings.")
    path = _clean_storage_path(storage_path)
    clean = _clean_registration({"file_format": file_format, "storage_size_bytes": storage_size_bytes})
    duration = _check_details(duration_seconds, expires_at)
    if db.session.scalar(sa.select(MeetingRecording.id).where(MeetingRecording.storage_path == path)):
        raise Conflict("A recording is already registered at that storage_path.",
                       fields={"storage_path": "Already registered."})
    recording.storage_path, recording.duration_seconds, recording.expires_at = path, duration, expires_at
    recording.file_format, recording.storage_size_bytes = clean["file_format"], clean["storage_size_bytes"]
    recording.is_encrypted = False  # the portal did not write it, so it cannot vouch for it
    db.session.add(recording)
    db.session.flush()
    audit_record(actor=actor, action="recording_registered", entity_type="meeting_recording",
                 entity_id=recording.id, new_values={
                     "booking_id": booking.id, "file_format": recording.file_format,
                     "storage_size_bytes": recording.storage_size_bytes, "duration_seconds": duration,
                     "expires_at": expires_at})
    log.info("recording %s registered for booking %s", recording.id, booking.id)
    return recording


def _probe_duration(storage, key: str, size: int, extension: str) -> int | None:
    """Read the duration from the file when the admin did not give one."""
    path = storage.local_path(key)
    if path is None:
        return None
    read = mp4_duration_seconds if extension in ("mp4", "mov") else ebml_duration_seconds
    with open(path, "rb") as handle:
        return read(handle, size)


def recording_update(*, actor, recording_id: Any, changes: dict) -> MeetingRecording:
    """Change duration_seconds and/or expires_at (admin only), audited."""
    recording = recording_load(actor=actor, recording_id=recording_id)
    if not policies.can("update", actor, recording):
        raise Forbidden("Only administrators change recordings.")
    unknown = set(changes) - {"duration_seconds", "expires_at"}
    if unknown:
        raise ServiceError("Unknown fields.", fields={k: "Unknown field." for k in sorted(unknown)})
    duration = _check_details(changes.get("duration_seconds"), changes.get("expires_at"))
    old, new = {}, {}
    for key, value in (("duration_seconds", duration), ("expires_at", changes.get("expires_at"))):
        if key in changes and getattr(recording, key) != value:
            old[key], new[key] = getattr(recording, key), value
            setattr(recording, key, value)
    if new:
        db.session.flush()
        audit_record(actor=actor, action="recording_updated", entity_type="meeting_recording",
                     entity_id=recording.id, old_values=old, new_values=new)
    return recording


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


# ---- signed links -----------------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Ages links by the portal clock, so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT, signer=_ClockSigner)


def link_ttl() -> int:
    return int(current_app.config.get("RECORDING_LINK_TTL", 24 * 3600))


def recording_link_token(*, actor, recording: MeetingRecording) -> str:
    """A token naming this recording and this user; the caller must be allowed to view it."""
    if not policies.can("view", actor, recording):
        raise NotFound("No such recording.")
    return _serializer().dumps({"r": str(recording.id), "u": str(actor.id)})


class LinkExpired(ServiceError):
    code = "LINK_EXPIRED"
    http_status = 403


def recording_from_token(*, actor, token: str) -> MeetingRecording:
    """The recording a link opens for `actor`: 403 when expired, 404 when tampered,
    issued to someone else, or no longer viewable."""
    try:
        data = _serializer().loads(token, max_age=link_ttl())
    except SignatureExpired as error:
        raise LinkExpired("This recording link has expired. Open the booking page for a new one.") from error
    except BadSignature as error:
        raise NotFound("No such recording.") from error
    if not isinstance(data, dict) or data.get("u") != str(getattr(actor, "id", "")):
        raise NotFound("No such recording.")
    return recording_load(actor=actor, recording_id=data.get("r"))


# ---- retention --------------------------------------------------------------------------

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
