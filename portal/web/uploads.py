"""Uploaded files are spooled encrypted: Werkzeug writes each multipart file it receives
to a stream we give it, and ours encrypts it into an unlinked temporary file
(portal.services.recordings.crypto.EncryptedSpool), so no upload is ever written to disk
in plain text, and memory stays at a few chunks whatever the file's size."""
from __future__ import annotations

from flask import Request

from portal.services.recordings.crypto import EncryptedSpool


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
