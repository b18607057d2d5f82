"""Uploaded files are spooled encrypted: Werkzeug writes each multipart file it receives
to a stream we give it, and ours encrypts (AES-256-GCM, 64 KiB chunks, a key that lives in
memory only for the request) into an unlinked temporary file. Reading it back decrypts
chunk by chunk, so no upload is ever written to disk in plain text, and memory stays at a
chunk or two whatever the file's size."""
from __future__ import annotations

import io
import os
import tempfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Request

CHUNK = 64 * 1024
NONCE = 12


class EncryptedSpool(io.RawIOBase):
    """Write plain bytes (encrypted on the way to disk), seek(0), then read them back."""

    def __init__(self) -> None:
        super().__init__()
        self._aes = AESGCM(AESGCM.generate_key(bit_length=256))
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 -- unlinked at once; closed by close()
        self._pending = bytearray()
        self._index = 0
        self._reading = False
        self._plain = b""
        self._read_index = 0

    def _aad(self, index: int) -> bytes:
        return index.to_bytes(8, "big")

    def _write_chunk(self, data: bytes) -> None:
        nonce = os.urandom(NONCE)
        sealed = self._aes.encrypt(nonce, data, self._aad(self._index))
        self._file.write(len(sealed).to_bytes(4, "big") + nonce + sealed)
        self._index += 1

    def writable(self) -> bool:
        return not self._reading

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._reading:
            raise io.UnsupportedOperation("the spool is being read")
        self._pending += data
        while len(self._pending) >= CHUNK:
            self._write_chunk(bytes(self._pending[:CHUNK]))
            del self._pending[:CHUNK]
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise io.UnsupportedOperation("the spool rewinds to the start only")
        if not self._reading:
            if self._pending:
                self._write_chunk(bytes(self._pending))
                self._pending.clear()
            self._reading = True
        self._file.seek(0)
        self._plain, self._read_index = b"", 0
        return 0

    def tell(self) -> int:
        return 0

    def _next_chunk(self) -> bytes:
        length = self._file.read(4)
        if len(length) < 4:
            return b""
        record = self._file.read(NONCE + int.from_bytes(length, "big"))
        plain = self._aes.decrypt(record[:NONCE], record[NONCE:], self._aad(self._read_index))
        self._read_index += 1
        return plain

    def read(self, size: int = -1) -> bytes:
        if not self._reading:
            self.seek(0)
        parts, wanted = [], size
        while size < 0 or wanted > 0:
            if not self._plain:
                self._plain = self._next_chunk()
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


class PortalRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        """The route's limit as portal.web.limits decided it (uploads: MAX_UPLOAD_BYTES)."""
        if self._max_content_length is not None:
            return self._max_content_length
        return self.environ.get("portal.max_content_length") or super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return EncryptedSpool()
