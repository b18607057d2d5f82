"""Keeping recordings under the current key: re-wrapping data keys after the master key
changed, and encrypting, in place, recordings stored before encryption (the `flask recordings`
commands). Both commit as they go and are safe to run again."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from portal.extensions import db
from portal.models import MeetingRecording
from portal.services.audit import audit_record
from portal.services.recordings.crypto import ChunkReader, EncryptingReader, is_encrypted_header, new_data_key
from portal.services.recordings.keys import data_key_of, keyring, unwrap, wrap
from portal.services.recordings.storage import get_storage

log = logging.getLogger(__name__)


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
