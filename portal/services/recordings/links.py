"""Playing a recording: a signed link's one-time code, exchanged for a cookie-bound stream grant,
both bound to the user they were issued to; the stream decrypts only the chunks a range needs.
Every link and every stream start is audited."""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from portal import clock, policies
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.models import MeetingRecording, RecordingAccessCode
from portal.services.access_log import record_access
from portal.services.audit import audit_record
from portal.services.recordings import recording_load
from portal.services.recordings.crypto import ChunkReader
from portal.services.recordings.keys import data_key_of
from portal.services.recordings.storage import get_storage

log = logging.getLogger(__name__)

GRANT_SALT = "meeting-recording-stream"


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
    plain bytes; for an encrypted one, only the chunks covering the range are read.

    A file stored in plain is as long as the stored object, whatever its row says; an encrypted
    one as its row says, which its last chunk's tag vouches for. OSError when the storage cannot
    be read, TamperedRecording when the encrypted header is not there."""
    storage = get_storage()
    if recording.is_encrypted and recording.wrapped_data_key is not None:
        return ChunkReader(storage, recording.storage_path, data_key_of(recording), recording.id,
                           recording.storage_size_bytes)
    return PlainReader(storage, recording.storage_path, storage.size(recording.storage_path))


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


def recording_expired(recording: MeetingRecording) -> bool:
    """Past its expiry: it gets no link and streams no byte, before the clean-up deletes it."""
    return recording.expires_at is not None and recording.expires_at <= clock.now()


def _playable(recording: MeetingRecording) -> MeetingRecording:
    if recording_expired(recording):
        raise NotFound("This recording has expired and is no longer available.")
    return recording


def recording_link_token(*, actor, recording: MeetingRecording) -> str:
    """A one-time code naming this recording and this user, valid RECORDING_LINK_TTL
    seconds; the caller must be allowed to view it. Audited (never the code); flushes."""
    if not policies.can("view", actor, recording):
        raise NotFound("No such recording.")
    _playable(recording)
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
    recording = _playable(recording_load(actor=actor, recording_id=code.recording_id))
    code.used_at = clock.now()
    db.session.flush()
    record_access(actor, recording)
    return recording


def recording_watch(*, actor, recording_id: Any) -> tuple[MeetingRecording, str]:
    """The booking page's player: a signed-in party or admin gets a stream grant directly
    (audited as a link, like the API's). Returns the recording and the grant (for a cookie)."""
    recording = recording_load(actor=actor, recording_id=recording_id)
    if not policies.can("view", actor, recording):
        raise NotFound("No such recording.")
    _playable(recording)
    _audit_link(actor, recording, via="booking_page", expires_at=clock.now() + timedelta(seconds=stream_ttl()))
    record_access(actor, recording)
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
    return _playable(recording_load(actor=actor, recording_id=recording_id))


def recording_stream_started(*, actor, recording: MeetingRecording, start: int) -> None:
    """Audit a playback starting (a request from byte 0; a player's seeks are not new views)."""
    audit_record(actor=actor, action="recording_stream_started", entity_type="meeting_recording",
                 entity_id=recording.id, new_values={"booking_id": recording.booking_id, "from_byte": start})
    record_access(actor, recording)
