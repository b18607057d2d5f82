"""Keys of recordings encrypted at rest: a data key per recording, stored on its row wrapped
(AES-GCM) by a master key.

The row keeps the master key's id, so `recordings rotate-key` re-wraps data keys without
touching files. Master keys come from RECORDINGS_KEY (current) and RECORDINGS_OLD_KEYS
(still readable)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from portal.services.recordings.crypto import NONCE, TamperedRecording

if TYPE_CHECKING:
    from portal.models import MeetingRecording

WRAP_LABEL = b"portal-recording-data-key"


class ConfigKeyError(ValueError):
    """A master key setting is not base64 of 32 bytes."""


class UnknownKey(Exception):
    """The row names a master key id the portal was not given."""


def parse_key(text: str, name: str = "RECORDINGS_KEY") -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigKeyError(f"{name} must be base64 (32 random bytes), e.g. from "
                             "`python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`."
                             ) from None
    if len(key) != 32:
        raise ConfigKeyError(f"{name} must decode to 32 bytes, not {len(key)}.")
    return key


def key_id(key: bytes) -> str:
    """A stable, non-secret name for a master key (stored on each row)."""
    return "k" + hashlib.sha256(b"portal-recordings-key-id:" + key).hexdigest()[:15]


@dataclass(frozen=True)
class Keyring:
    current: bytes
    old: tuple[bytes, ...] = ()

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def get(self, wanted: str) -> bytes:
        for key in (self.current, *self.old):
            if key_id(key) == wanted:
                return key
        raise UnknownKey(f"master key {wanted} is not configured (RECORDINGS_KEY / RECORDINGS_OLD_KEYS)")

    @classmethod
    def from_config(cls, config) -> Keyring:
        current = parse_key(config["RECORDINGS_KEY"])
        old = tuple(parse_key(part, "RECORDINGS_OLD_KEYS")
                    for part in (config.get("RECORDINGS_OLD_KEYS") or "").replace(",", " ").split())
        return cls(current, old)


def keyring() -> Keyring:
    """The master keys the app is configured with."""
    return Keyring.from_config(current_app.config)


def development_key(instance: Path) -> str:
    """The development master key kept under the instance folder (made on first use)."""
    key_file = instance / "recordings_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(os.urandom(32)).decode())
    return key_file.read_text().strip()


def wrap(master: bytes, data_key: bytes, recording_id: uuid.UUID) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, WRAP_LABEL + recording_id.bytes)


def unwrap(master: bytes, wrapped: bytes, recording_id: uuid.UUID) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE], wrapped[NONCE:], WRAP_LABEL + recording_id.bytes)
    except InvalidTag:
        raise TamperedRecording(recording_id, -1) from None


def data_key_of(recording: MeetingRecording) -> bytes:
    """The recording's data key, unwrapped by the master key its row names."""
    return unwrap(keyring().get(recording.encryption_key_id), recording.wrapped_data_key, recording.id)
