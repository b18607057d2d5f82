"""Chunked AES-256-GCM: the one implementation behind stored recordings and upload spools.

Layout: an 8-byte header (MAGIC, then the chunk size as 4 bytes), then the chunks in order,
each `nonce (12) || ciphertext || tag (16)`. Every chunk's associated data binds the
recording id, the chunk's index and whether it is the last one, so chunks cannot be
swapped, reordered, moved to another recording or cut off the end unnoticed. Only the
chunks a byte range needs are read and decrypted, so memory stays at a few chunks
whatever the file's size.
"""
from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.services.recordings.streams import read_full

MAGIC = b"PRC1"
HEADER = len(MAGIC) + 4
CHUNK_SIZE = 64 * 1024
NONCE, TAG = 12, 16
OVERHEAD = NONCE + TAG


class TamperedRecording(Exception):
    """A chunk failed authentication (altered, swapped, truncated or wrong key)."""

    def __init__(self, recording_id, chunk: int):
        super().__init__(f"recording {recording_id}: chunk {chunk} failed authentication")
        self.recording_id, self.chunk = recording_id, chunk


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(recording_id: uuid.UUID, index: int, final: bool) -> bytes:
    return b"rec" + recording_id.bytes + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def header(chunk_size: int = CHUNK_SIZE) -> bytes:
    return MAGIC + chunk_size.to_bytes(4, "big")


def is_encrypted_header(head: bytes) -> bool:
    return head[:len(MAGIC)] == MAGIC


class ChunkSealer:
    """Seals plaintext chunks in order; the caller says which one is the last."""

    def __init__(self, data_key: bytes, recording_id: uuid.UUID, chunk_size: int = CHUNK_SIZE):
        self._aes, self._id, self.chunk_size, self._index = AESGCM(data_key), recording_id, chunk_size, 0

    def header(self) -> bytes:
        return header(self.chunk_size)

    def seal(self, plain: bytes, *, final: bool) -> bytes:
        nonce = os.urandom(NONCE)
        sealed = nonce + self._aes.encrypt(nonce, plain, _aad(self._id, self._index, final))
        self._index += 1
        return sealed


class EncryptingReader:
    """A file-like whose read() yields the encrypted form of `source`, chunk by chunk
    (one chunk read ahead, to know which is last). Keeps the first `keep_head`
    plaintext bytes (for format sniffing) and counts the plaintext size."""

    def __init__(self, source, data_key: bytes, recording_id: uuid.UUID, *, keep_head: int = 0,
                 chunk_size: int = CHUNK_SIZE):
        self._source, self._sealer, self._keep = source, ChunkSealer(data_key, recording_id, chunk_size), keep_head
        self.head, self.size = b"", 0
        self._buffer, self._done = bytearray(self._sealer.header()), False
        self._next = self._read_plain()

    def _read_plain(self) -> bytes:
        block = read_full(self._source, self._sealer.chunk_size)
        self.size += len(block)
        if len(self.head) < self._keep:
            self.head += block[:self._keep - len(self.head)]
        return block

    def _encrypt_next(self) -> None:
        current = self._next
        self._next = self._read_plain() if len(current) == self._sealer.chunk_size else b""
        self._done = not self._next
        self._buffer += self._sealer.seal(current, final=self._done)

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


class EncryptedSpool(io.RawIOBase):
    """An upload as Werkzeug receives it: write plain bytes (sealed on the way to an unlinked
    temporary file, under a key that lives in memory only), seek(0), then read them back.
    No upload is ever written to disk in plain text."""

    def __init__(self) -> None:
        super().__init__()
        self._key, self._id = new_data_key(), uuid.uuid4()
        self._sealer = ChunkSealer(self._key, self._id)
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 -- unlinked at once; closed by close()
        self._file.write(self._sealer.header())
        self._pending, self._size = bytearray(), 0
        self._reader: ChunkReader | None = None  # once written in full
        self._chunks: Iterator[bytes] = iter(())
        self._plain = b""

    def writable(self) -> bool:
        return self._reader is None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._reader is not None:
            raise io.UnsupportedOperation("the spool is being read")
        self._pending += data
        self._size += len(data)
        size = self._sealer.chunk_size
        while len(self._pending) > size:  # sealed once more follows: only the last chunk is final
            self._file.write(self._sealer.seal(bytes(self._pending[:size]), final=False))
            del self._pending[:size]
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise io.UnsupportedOperation("the spool rewinds to the start only")
        if self._reader is None:
            self._file.write(self._sealer.seal(bytes(self._pending), final=True))
            self._pending.clear()
            self._reader = ChunkReader(_FileRanges(self._file), "", self._key, self._id, self._size)
        self._chunks, self._plain = self._reader.iter_range(0, self._size - 1), b""
        return 0

    def tell(self) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        if self._reader is None:
            self.seek(0)
        parts, wanted = [], size
        while size < 0 or wanted > 0:
            if not self._plain:
                self._plain = next(self._chunks, b"")
                if not self._plain:
                    break
            take = self._plain if size < 0 else self._plain[:wanted]
            self._plain = self._plain[len(take):]
            parts.append(take)
            if size >= 0:
                wanted -= len(take)
        return b"".join(parts)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


class _FileRanges:
    """A spool's temporary file, read as ChunkReader reads storage."""

    def __init__(self, handle):
        self._handle = handle

    def read_range(self, _key: str, start: int, length: int) -> bytes:
        self._handle.seek(start)
        return self._handle.read(length)
