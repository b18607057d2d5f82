"""Attaching an uploaded file (encrypted as it is read), registering a file stored elsewhere,
and changing a recording's duration or expiry: admins only, audited."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app

from portal import clock, policies
from portal.domain.inputs import MAX_RECORDING_SECONDS, InputError, parse_integer
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Booking, MeetingRecording
from portal.models.recordings import RECORDING_FORMATS
from portal.selectors.intake import recording_consented
from portal.services.audit import audit_record
from portal.services.recordings import recording_load
from portal.services.recordings.crypto import (
    ChunkReader,
    DecryptingFile,
    EncryptingReader,
    TamperedRecording,
    new_data_key,
)
from portal.services.recordings.formats import (
    SNIFF_BYTES,
    content_matches,
    ebml_duration_seconds,
    mp4_duration_seconds,
)
from portal.services.recordings.keys import keyring, wrap
from portal.services.recordings.storage import get_storage, remove_unless_committed

log = logging.getLogger(__name__)


def _extension(filename: str | None) -> str:
    name = (filename or "").rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in RECORDING_FORMATS:
        raise ServiceError("Upload an mp4, webm, mov or mkv file.", code="UNSUPPORTED_FORMAT",
                           fields={"file": "Unsupported file type."})
    return extension


def _check_duration(duration: int | None, message: str) -> None:
    """A duration the column holds and a session can last: 0 to MAX_RECORDING_SECONDS."""
    if duration is not None and not 0 <= duration <= MAX_RECORDING_SECONDS:
        raise ServiceError("Duration is a whole number of seconds.", code="INVALID_REQUEST",
                           fields={"duration_seconds": message})


def _check_details(duration_seconds: Any, expires_at: datetime | None) -> int | None:
    if duration_seconds in (None, ""):
        duration = None
    else:
        try:
            duration = parse_integer(duration_seconds)
        except InputError:
            duration = -1
        _check_duration(duration, "Enter whole seconds (0 or more).")
    if expires_at is not None and expires_at.tzinfo is None:
        raise ServiceError("Expiry needs a time zone.", code="INVALID_REQUEST",
                           fields={"expires_at": "Give a time zone."})
    if expires_at is not None and expires_at <= clock.now():
        raise ServiceError("The expiry must be in the future.", code="INVALID_REQUEST",
                           fields={"expires_at": "Choose a date and time in the future."})
    return duration


def retention_days() -> int:
    return int(current_app.config.get("RECORDING_RETENTION_DAYS", 90))


def default_expiry(booking: Booking) -> datetime:
    """RECORDING_RETENTION_DAYS after the session's date."""
    return booking.starts_at + timedelta(days=retention_days())


def require_recording_consent(booking: Booking) -> None:
    """While RECORDING_CONSENT_REQUIRED is on, a session is recorded only when its patient consents
    to being recorded by its specialist (409 NO_RECORDING_CONSENT). Checked after who may record,
    before anything about the file."""
    if current_app.config.get("RECORDING_CONSENT_REQUIRED", True) and not recording_consented(
            booking.patient_id, booking.specialist_id):
        raise Conflict("The patient has not consented to being recorded by this specialist.",
                       code="NO_RECORDING_CONSENT")


def recording_attach(*, actor, booking_id: Any, filename: str | None, stream: BinaryIO,
                     duration_seconds: Any = None, expires_at: datetime | None = None) -> MeetingRecording:
    """Store an uploaded file, encrypted chunk by chunk as it is read (never whole, never
    in plain text), and record it. `expires_at` defaults to RECORDING_RETENTION_DAYS after
    the session; one in the past is refused."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.")
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id)
    if not policies.can("create", actor, recording):
        raise Forbidden("Only administrators attach recordings.")
    require_recording_consent(booking)
    extension = _extension(filename)
    duration = _check_details(duration_seconds, expires_at)
    if expires_at is None:
        expires_at = default_expiry(booking)
        if expires_at <= clock.now():
            raise ServiceError(
                f"This session's {retention_days()}-day retention period has ended; give a later expiry.",
                code="INVALID_REQUEST", fields={"expires_at": "Choose a date and time in the future."})
    key = f"sessions/{clock.now():%Y-%m}/booking-{booking.id}-{recording.id}.{extension}.enc"
    keys, data_key = keyring(), new_data_key()
    storage = get_storage()
    encrypting = EncryptingReader(stream, data_key, recording.id, keep_head=SNIFF_BYTES)
    storage.save(key, encrypting)
    size = encrypting.size
    try:
        if size == 0 or not content_matches(extension, encrypting.head):
            raise ServiceError(f"The file's content is not a {extension} video.", code="UNSUPPORTED_FORMAT",
                               fields={"file": "Content does not match the file type."})
        recording.storage_path, recording.storage_size_bytes = key, size
        recording.encryption_key_id = keys.current_id
        recording.wrapped_data_key = wrap(keys.current, data_key, recording.id)
        recording.is_encrypted = True
        if duration is None:
            duration = _probe_duration(storage, recording, data_key, extension)
        recording.file_format, recording.duration_seconds = extension, duration
        recording.expires_at = expires_at
        db.session.add(recording)
        db.session.flush()
        audit_record(actor=actor, action="recording_attached", entity_type="meeting_recording",
                     entity_id=recording.id, new_values={
                         "booking_id": booking.id, "file_format": extension, "storage_size_bytes": size,
                         "duration_seconds": duration, "expires_at": expires_at, "is_encrypted": True,
                         "encryption_key_id": keys.current_id})
    except BaseException:
        storage.delete(key)
        raise
    remove_unless_committed(db.session(), storage, key)
    log.info("recording %s attached to booking %s (%s bytes, encrypted)", recording.id, booking.id, size)
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


def _check_stored_file(path: str, size: int) -> None:
    """The registered key must name a file in the storage, of the size the registration says
    (a player stops at the length it is told)."""
    try:
        stored = get_storage().size(path)
    except IsADirectoryError as error:
        raise NotFound("storage_path names a folder in the recordings storage, not a file.",
                       fields={"storage_path": "A folder, not a file."}) from error
    except FileNotFoundError as error:
        raise NotFound("No file is stored at that storage_path.",
                       fields={"storage_path": "No file is stored there."}) from error
    except OSError as error:
        log.warning("recordings storage unreadable while registering: %s", type(error).__name__)
        raise ServiceError("The recordings storage cannot be reached. Please retry in a few minutes.",
                           code="UNAVAILABLE", http_status=503) from error
    if stored != size:
        raise ServiceError("storage_size_bytes does not match the stored file.",
                           fields={"storage_size_bytes": f"The stored file has {stored} bytes."})


def recording_register(*, actor, booking_id: Any, storage_path: Any, file_format: Any,
                       storage_size_bytes: Any, duration_seconds: Any = None,
                       expires_at: datetime | None = None) -> MeetingRecording:
    """Record a file already stored elsewhere (the spec's columns, no upload): admins only.
    `storage_path` is its key in the configured recordings storage, where playback and the
    expiry clean-up look for it: a file there (not a folder) of `storage_size_bytes` bytes.
    The same key cannot be registered twice (CONFLICT)."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.",
                            fields={"booking_id": "Unknown booking."})
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id)
    if not policies.can("create", actor, recording):
        raise Forbidden("Only administrators register recordings.")
    require_recording_consent(booking)
    path = _clean_storage_path(storage_path)
    clean = _clean_registration({"file_format": file_format, "storage_size_bytes": storage_size_bytes})
    duration = _check_details(duration_seconds, expires_at)
    if db.session.scalar(sa.select(MeetingRecording.id).where(MeetingRecording.storage_path == path)):
        raise Conflict("A recording is already registered at that storage_path.",
                       fields={"storage_path": "Already registered."})
    _check_stored_file(path, clean["storage_size_bytes"])
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


def _probe_duration(storage, recording: MeetingRecording, data_key: bytes, extension: str) -> int | None:
    """Read the duration from the (decrypted) file when the admin did not give one."""
    reader = ChunkReader(storage, recording.storage_path, data_key, recording.id, recording.storage_size_bytes)
    read = mp4_duration_seconds if extension in ("mp4", "mov") else ebml_duration_seconds
    try:
        duration = read(DecryptingFile(reader), recording.storage_size_bytes)
    except TamperedRecording:
        return None
    # A header can claim any duration (2**64 ticks): refused, not an overflow of the column.
    _check_duration(duration, f"The file's duration is out of range (at most {MAX_RECORDING_SECONDS} seconds).")
    return duration


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
