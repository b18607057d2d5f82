"""Recordings encrypted at rest: chunked AES-256-GCM with a data key per recording.

Stored layout: an 8-byte header (MAGIC, then the chunk size as 4 bytes), then the
chunks in order, each
`nonce (12) || ciphertext || tag (16)`. Every chunk's associated data binds the
recording id, the chunk's index and whether it is the last one, so chunks cannot be
swapped, reordered, moved to another recording or cut off the end unnoticed.

The data key is stored on the row wrapped (AES-GCM) by a master key; the row keeps the
master key's id, so `recordings rotate-key` re-wraps data keys without touching files.
Master keys come from RECORDINGS_KEY (current) and RECORDINGS_OLD_KEYS (still readable).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PRC1"
HEADER = len(MAGIC) + 4
CHUNK_SIZE = 64 * 1024
NONCE, TAG = 12, 16
OVERHEAD = NONCE + TAG
WRAP_LABEL = b"portal-recording-data-key"


class ConfigKeyError(ValueError):
    """A master key setting is not base64 of 32 bytes."""


class TamperedRecording(Exception):
    """A chunk failed authentication (altered, swapped, truncated or wrong key)."""

    def __init__(self, recording_id, chunk: int):
        super().__init__(f"recording {recording_id}: chunk {chunk} failed authentication")
        self.recording_id, self.chunk = recording_id, chunk


class UnknownKey(Exception):
    """The row names a master key id the portal was not given."""


# ---- master keys --------------------------------------------------------------------------

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


def development_key(instance: Path) -> str:
    """The development master key kept under the instance folder (made on first use)."""
    key_file = instance / "recordings_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(os.urandom(32)).decode())
    return key_file.read_text().strip()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(master: bytes, data_key: bytes, recording_id: uuid.UUID) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, WRAP_LABEL + recording_id.bytes)


def unwrap(master: bytes, wrapped: bytes, recording_id: uuid.UUID) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE], wrapped[NONCE:], WRAP_LABEL + recording_id.bytes)
    except InvalidTag:
        raise TamperedRecording(recording_id, -1) from None


# ---- chunks ---------------------------------------------------------------------------------

def _aad(recording_id: uuid.UUID, index: int, final: bool) -> bytes:
    return b"rec" + recording_id.bytes + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def header(chunk_size: int = CHUNK_SIZE) -> bytes:
    return MAGIC + chunk_size.to_bytes(4, "big")


def is_encrypted_header(head: bytes) -> bool:
    return head[:len(MAGIC)] == MAGIC


def stored_size(plain_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    chunks = max(1, -(-plain_size // chunk_size))
    return HEADER + plain_size + chunks * OVERHEAD


class EncryptingReader:
    """A file-like whose read() yields the encrypted form of `source`, chunk by chunk
    (one chunk read ahead, to know which is last). Keeps the first `keep_head`
    plaintext bytes (for format sniffing) and counts the plaintext size."""

    def __init__(self, source, data_key: bytes, recording_id: uuid.UUID, *, keep_head: int = 0,
                 chunk_size: int = CHUNK_SIZE):
        self._source, self._aes, self._id = source, AESGCM(data_key), recording_id
        self._chunk_size, self._keep = chunk_size, keep_head
        self.head, self.size = b"", 0
        self._index, self._buffer, self._done = 0, bytearray(header(chunk_size)), False
        self._next = self._read_plain()

    def _read_plain(self) -> bytes:
        parts, wanted = [], self._chunk_size
        while wanted:
            data = self._source.read(wanted)
            if not data:
                break
            parts.append(data)
            wanted -= len(data)
        block = b"".join(parts)
        self.size += len(block)
        if len(self.head) < self._keep:
            self.head += block[:self._keep - len(self.head)]
        return block

    def _encrypt_next(self) -> None:
        current = self._next
        self._next = self._read_plain() if len(current) == self._chunk_size else b""
        final = not self._next
        nonce = os.urandom(NONCE)
        self._buffer += nonce + self._aes.encrypt(nonce, current, _aad(self._id, self._index, final))
        self._index += 1
        self._done = final

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._encrypt_next()
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = bytes(self._buffer), bytearray()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def readable(self) -> bool:
        return True


class ChunkReader:
    """Decrypts the chunks covering a plaintext byte range, reading only those from storage."""

    def __init__(self, storage, key: str, data_key: bytes, recording_id: uuid.UUID, plain_size: int):
        self.storage, self.key, self.plain_size = storage, key, plain_size
        self._aes, self._id = AESGCM(data_key), recording_id
        head = storage.read_range(key, 0, HEADER)
        if not is_encrypted_header(head) or len(head) < HEADER:
            raise TamperedRecording(recording_id, -1)
        self.chunk_size = int.from_bytes(head[len(MAGIC):HEADER], "big")
        self.chunks = max(1, -(-plain_size // self.chunk_size))

    def _chunk_span(self, index: int) -> tuple[int, int]:
        plain = min(self.chunk_size, self.plain_size - index * self.chunk_size)
        return HEADER + index * (self.chunk_size + OVERHEAD), max(plain, 0) + OVERHEAD

    def _decrypt(self, index: int, blob: bytes) -> bytes:
        try:
            return self._aes.decrypt(blob[:NONCE], blob[NONCE:],
                                     _aad(self._id, index, index == self.chunks - 1))
        except (InvalidTag, ValueError):
            raise TamperedRecording(self._id, index) from None

    def chunks_between(self, first: int, last: int, batch: int = 16) -> Iterator[tuple[int, bytes]]:
        """(index, plaintext) of chunks first..last, fetched `batch` chunks per storage read."""
        index = first
        while index <= last:
            upto = min(last, index + batch - 1)
            start, _ = self._chunk_span(index)
            end_start, end_length = self._chunk_span(upto)
            blob = self.storage.read_range(self.key, start, end_start + end_length - start)
            at = 0
            for i in range(index, upto + 1):
                _, length = self._chunk_span(i)
                if len(blob) < at + length:
                    raise TamperedRecording(self._id, i)  # the stored file was cut short
                yield i, self._decrypt(i, blob[at:at + length])
                at += length
            index = upto + 1

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        """Plaintext bytes start..end (inclusive), decrypting only the chunks that cover them."""
        if self.plain_size == 0 or end < start:
            return
        first, last = start // self.chunk_size, end // self.chunk_size
        for index, plain in self.chunks_between(first, last):
            base = index * self.chunk_size
            yield plain[max(start - base, 0):end - base + 1]

    def read_range(self, start: int, length: int) -> bytes:
        end = min(start + length, self.plain_size) - 1
        return b"".join(self.iter_range(start, end))


class DecryptingFile:
    """A read-only seekable file over an encrypted recording (for the duration probes)."""

    def __init__(self, reader: ChunkReader):
        self._reader, self._position = reader, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._reader.plain_size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._reader.plain_size - self._position
        data = self._reader.read_range(self._position, size)
        self._position += len(data)
        return data
