"""Meeting recordings (spec section 5): admins attach files to bookings, encrypted
while they are received (chunked AES-256-GCM, a data key per recording wrapped by the
master key); the booking's parties and admins play them through signed links (a
one-time code, exchanged for a cookie-bound stream) bound to the user they were issued
to; every link and every stream start is audited; a daily job deletes expired recordings."""
from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from portal import clock, policies
from portal.domain.inputs import MAX_RECORDING_SECONDS, InputError, parse_integer
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import Booking, MeetingRecording, RecordingAccessCode
from portal.models.recordings import RECORDING_FORMATS
from portal.services.audit import audit_record
from portal.services.recording_crypto import (
    ChunkReader,
    DecryptingFile,
    EncryptingReader,
    Keyring,
    TamperedRecording,
    is_encrypted_header,
    new_data_key,
    unwrap,
    wrap,
)
from portal.services.recording_formats import (
    SNIFF_BYTES,
    content_matches,
    ebml_duration_seconds,
    mp4_duration_seconds,
)
from portal.services.recording_storage import get_storage, remove_unless_committed

log = logging.getLogger(__name__)

GRANT_SALT = "meeting-recording-stream"


def recording_load(*, actor, recording_id: Any) -> MeetingRecording:
    return policies.load(MeetingRecording, recording_id, actor, missing="No such recording.")


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
        raise ServiceError("The expiry must be in the future.", code="VALIDATION_ERROR",
                           fields={"expires_at": "Choose a date and time in the future."})
    return duration


def retention_days() -> int:
    return int(current_app.config.get("RECORDING_RETENTION_DAYS", 90))


def default_expiry(booking: Booking) -> datetime:
    """RECORDING_RETENTION_DAYS after the session's date."""
    return booking.starts_at + timedelta(days=retention_days())


def keyring() -> Keyring:
    return Keyring.from_config(current_app.config)


def recording_attach(*, actor, booking_id: Any, filename: str | None, stream: BinaryIO,
                     duration_seconds: Any = None, expires_at: datetime | None = None) -> MeetingRecording:
    """Store an uploaded file, encrypted chunk by chunk as it is read (never whole, never
    in plain text), and record it. `expires_at` defaults to RECORDING_RETENTION_DAYS after
    the session; one in the past is refused."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.")
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id)
    if not policies.can("create", actor, recording):
        raise Forbidden("Only administrators attach recordings.")
    extension = _extension(filename)
    duration = _check_details(duration_seconds, expires_at)
    if expires_at is None:
        expires_at = default_expiry(booking)
        if expires_at <= clock.now():
            raise ServiceError(
                f"This session's {retention_days()}-day retention period has ended; give a later expiry.",
                code="VALIDATION_ERROR", fields={"expires_at": "Choose a date and time in the future."})
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


def recording_register(*, actor, booking_id: Any, storage_path: Any, file_format: Any,
                       storage_size_bytes: Any, duration_seconds: Any = None,
                       expires_at: datetime | None = None) -> MeetingRecording:
    """Record a file already stored elsewhere (the spec's columns, no upload): admins only.
    `storage_path` is its key in the configured recordings storage, where playback and the
    expiry clean-up look for it. The same key cannot be registered twice (CONFLICT)."""
    booking = policies.load(Booking, booking_id, actor, missing="No such booking.",
                            fields={"booking_id": "Unknown booking."})
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


# ---- reading a recording ----------------------------------------------------------------

def data_key_of(recording: MeetingRecording) -> bytes:
    return unwrap(keyring().get(recording.encryption_key_id), recording.wrapped_data_key, recording.id)


class PlainReader:
    """A recording stored before encryption (until `recordings encrypt-existing` has run)."""

    def __init__(self, storage, key: str, size: int):
        self.storage, self.key, self.plain_size = storage, key, size

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        position = start
        while position <= end:
            data = self.storage.read_range(self.key, position, min(1024 * 1024, end - position + 1))
            if not data:
                return
            yield data
            position += len(data)


def recording_reader(recording: MeetingRecording):
    """Something with `plain_size` and `iter_range(start, end)` giving the recording's
    plain bytes; for an encrypted one, only the chunks covering the range are read."""
    storage = get_storage()
    if recording.is_encrypted and recording.wrapped_data_key is not None:
        return ChunkReader(storage, recording.storage_path, data_key_of(recording), recording.id,
                           recording.storage_size_bytes)
    return PlainReader(storage, recording.storage_path, recording.storage_size_bytes)


def report_tampered(recording_id, chunk: int) -> None:
    """A chunk failed authentication: say so loudly (logged at error level, so Sentry sees it)."""
    log.error("recording %s: chunk %s failed authentication; the stream was stopped", recording_id, chunk)


# ---- signed links: a one-time code, exchanged for a cookie-bound stream -----------------

class _ClockSigner(TimestampSigner):
    """Ages grants by the portal clock, so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=GRANT_SALT, signer=_ClockSigner)


def link_ttl() -> int:
    return int(current_app.config.get("RECORDING_LINK_TTL", 15 * 60))


def stream_ttl() -> int:
    return int(current_app.config.get("RECORDING_STREAM_TTL", 4 * 3600))


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def recording_link_token(*, actor, recording: MeetingRecording) -> str:
    """A one-time code naming this recording and this user, valid RECORDING_LINK_TTL
    seconds; the caller must be allowed to view it. Audited (never the code); flushes."""
    if not policies.can("view", actor, recording):
        raise NotFound("No such recording.")
    code = secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(seconds=link_ttl())
    db.session.add(RecordingAccessCode(code_hash=_hash(code), recording_id=recording.id, user_id=actor.id,
                                       created_at=clock.now(), expires_at=expires_at))
    _audit_link(actor, recording, via="signed_link", expires_at=expires_at)
    return code


def _audit_link(actor, recording: MeetingRecording, *, via: str, expires_at: datetime) -> None:
    audit_record(actor=actor, action="recording_link_created", entity_type="meeting_recording",
                 entity_id=recording.id, new_values={"booking_id": recording.booking_id, "via": via,
                                                      "expires_at": expires_at})


class LinkExpired(ServiceError):
    code = "LINK_EXPIRED"
    http_status = 403


def recording_from_token(*, actor, token: str) -> MeetingRecording:
    """Spend a link's one-time code: the recording it opens for `actor`. 403 when expired
    or already used, 404 when unknown, issued to someone else, or no longer viewable. Flushes."""
    code = db.session.get(RecordingAccessCode, _hash(token or ""), with_for_update=True)
    if code is None or str(code.user_id) != str(getattr(actor, "id", "")):
        raise NotFound("No such recording.")
    if code.used_at is not None:
        raise LinkExpired("This recording link has already been opened. Open the booking page for a new one.")
    if code.expires_at <= clock.now():
        raise LinkExpired("This recording link has expired. Open the booking page for a new one.")
    recording = recording_load(actor=actor, recording_id=code.recording_id)
    code.used_at = clock.now()
    db.session.flush()
    return recording


def recording_watch(*, actor, recording_id: Any) -> tuple[MeetingRecording, str]:
    """The booking page's player: a signed-in party or admin gets a stream grant directly
    (audited as a link, like the API's). Returns the recording and the grant (for a cookie)."""
    recording = recording_load(actor=actor, recording_id=recording_id)
    if not policies.can("view", actor, recording):
        raise NotFound("No such recording.")
    _audit_link(actor, recording, via="booking_page", expires_at=clock.now() + timedelta(seconds=stream_ttl()))
    return recording, recording_stream_grant(actor=actor, recording=recording)


def recording_stream_grant(*, actor, recording: MeetingRecording) -> str:
    """The signed value of the cookie that lets `actor` stream `recording` for RECORDING_STREAM_TTL."""
    return _serializer().dumps({"r": str(recording.id), "u": str(actor.id)})


def recording_from_grant(*, actor, recording_id: Any, grant: str | None) -> MeetingRecording:
    """The recording a stream cookie opens: 403 when missing or expired, 404 when altered,
    for another recording or user, or no longer viewable."""
    if not grant:
        raise LinkExpired("Open the recording from the booking page.")
    try:
        data = _serializer().loads(grant, max_age=stream_ttl())
    except SignatureExpired as error:
        raise LinkExpired("This recording link has expired. Open the booking page for a new one.") from error
    except BadSignature as error:
        raise NotFound("No such recording.") from error
    if (not isinstance(data, dict) or data.get("u") != str(getattr(actor, "id", ""))
            or data.get("r") != str(recording_id)):
        raise NotFound("No such recording.")
    return recording_load(actor=actor, recording_id=recording_id)


def recording_stream_started(*, actor, recording: MeetingRecording, start: int) -> None:
    """Audit a playback starting (a request from byte 0; a player's seeks are not new views)."""
    audit_record(actor=actor, action="recording_stream_started", entity_type="meeting_recording",
                 entity_id=recording.id, new_values={"booking_id": recording.booking_id, "from_byte": start})


# ---- keys: rotation and encrypting recordings stored in plain ---------------------------

def recordings_rotate_key(*, batch: int = 200) -> dict:
    """Re-wrap every data key not wrapped by the current master key (the files are not
    touched). Commits per batch; safe to run again. Returns counts."""
    keys = keyring()
    result = {"rewrapped": 0, "errors": 0}
    stale = list(db.session.scalars(
        sa.select(MeetingRecording.id).where(MeetingRecording.wrapped_data_key.is_not(None),
                                             MeetingRecording.encryption_key_id != keys.current_id)
        .order_by(MeetingRecording.id)))
    for start in range(0, len(stale), batch):
        for recording_id in stale[start:start + batch]:
            recording = db.session.get(MeetingRecording, recording_id)
            if recording is None or recording.encryption_key_id == keys.current_id:
                continue
            try:
                data_key = unwrap(keys.get(recording.encryption_key_id), recording.wrapped_data_key, recording.id)
            except Exception:
                log.exception("recording %s: data key could not be unwrapped", recording.id)
                result["errors"] += 1
                continue
            old_id = recording.encryption_key_id
            recording.wrapped_data_key = wrap(keys.current, data_key, recording.id)
            recording.encryption_key_id = keys.current_id
            audit_record(actor=None, action="recording_key_rewrapped", entity_type="meeting_recording",
                         entity_id=recording.id, old_values={"encryption_key_id": old_id},
                         new_values={"encryption_key_id": keys.current_id})
            result["rewrapped"] += 1
        db.session.commit()
    return result


def recordings_encrypt_existing() -> dict:
    """Encrypt, in place, every recording still stored in plain text. Idempotent and
    resumable: the wrapped key is committed before the file is replaced, and a file that
    already carries the encrypted header is only verified and marked. Commits per recording."""
    result = {"encrypted": 0, "resumed": 0, "missing_files": 0, "errors": 0}
    pending = list(db.session.scalars(
        sa.select(MeetingRecording.id).where(MeetingRecording.is_encrypted.is_(False))
        .order_by(MeetingRecording.created_at)))
    for recording_id in pending:
        try:
            outcome = _encrypt_one(recording_id)
        except Exception:
            db.session.rollback()
            log.exception("recording %s could not be encrypted", recording_id)
            outcome = "errors"
        if outcome:
            result[outcome] += 1
    return result


def _encrypt_one(recording_id) -> str | None:
    recording = db.session.get(MeetingRecording, recording_id)
    if recording is None or recording.is_encrypted:
        return None
    storage = get_storage()
    if not storage.exists(recording.storage_path):
        return "missing_files"
    keys = keyring()
    if recording.wrapped_data_key is None:  # step 1: the key first, so a crash loses nothing
        recording.encryption_key_id = keys.current_id
        recording.wrapped_data_key = wrap(keys.current, new_data_key(), recording.id)
        db.session.commit()
    data_key = data_key_of(recording)
    resumed = is_encrypted_header(storage.head(recording.storage_path, 8))
    if not resumed:  # step 2: replace the file by its encrypted form (atomically)
        source = _StorageStream(storage, recording.storage_path)
        encrypting = EncryptingReader(source, data_key, recording.id)
        storage.save(recording.storage_path, encrypting)
        recording.storage_size_bytes = encrypting.size
    reader = ChunkReader(storage, recording.storage_path, data_key, recording.id, recording.storage_size_bytes)
    for _ in reader.iter_range(0, max(recording.storage_size_bytes - 1, 0)):  # step 3: verify, then mark
        pass
    recording.is_encrypted = True
    audit_record(actor=None, action="recording_encrypted", entity_type="meeting_recording",
                 entity_id=recording.id, new_values={"encryption_key_id": recording.encryption_key_id})
    db.session.commit()
    return "resumed" if resumed else "encrypted"


class _StorageStream:
    """Read a stored object front to back, a megabyte per storage read."""

    def __init__(self, storage, key: str):
        self.storage, self.key, self.position = storage, key, 0

    def read(self, size: int = -1) -> bytes:
        size = 1024 * 1024 if size < 0 else size
        data = self.storage.read_range(self.key, self.position, size)
        self.position += len(data)
        return data


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
