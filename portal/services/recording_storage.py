"""Where recording files live. The portal talks to a `Storage`; the local
filesystem backend is the default (under RECORDINGS_DIR, inside instance/),
and an S3-compatible backend can implement the same few methods (with
`local_path` returning None and `signed_url` handing out the bucket's own
links instead of the portal streaming the file)."""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_UNCOMMITTED = "portal.uncommitted_files"


class Storage(Protocol):
    def save(self, key: str, source: BinaryIO) -> int:
        """Store the stream under `key` (copied in chunks); return its size in bytes."""

    def head(self, key: str, size: int) -> bytes:
        """The first `size` bytes of the stored object."""

    def delete(self, key: str) -> bool:
        """Remove the object; False when it was already missing."""

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path the web server may stream from, if the backend has one."""


class LocalStorage:
    """Files under one root directory. Writes go to a temporary file beside the
    target and are renamed into place, so a half-written upload is never seen."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    def save(self, key: str, source: BinaryIO) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            with open(temporary, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def head(self, key: str, size: int) -> bytes:
        with open(self._path(key), "rb") as handle:
            return handle.read(size)

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def get_storage() -> Storage:
    """The configured backend (RECORDINGS_STORAGE; only "local" so far)."""
    backend = current_app.config.get("RECORDINGS_STORAGE", "local")
    if backend != "local":
        raise RuntimeError(f"unknown recordings storage backend {backend!r}")
    return LocalStorage(current_app.config["RECORDINGS_DIR"])


# ---- files saved for rows that may not be committed -----------------------------------

def remove_unless_committed(session: Session, storage: Storage, key: str) -> None:
    """Delete the stored object if the transaction that records it rolls back
    (a failed commit included), so an upload is never left without its row."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_UNCOMMITTED, []).append((transaction, storage, key))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa.event.listens_for(Session, "after_commit")
def _files_committed(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _files_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_UNCOMMITTED)
    if not pending:
        return
    undone = [item for item in pending if _within(item[0], previous_transaction)]
    session.info[_UNCOMMITTED] = [item for item in pending if item not in undone]
    for _transaction, storage, key in undone:
        try:
            storage.delete(key)
        except OSError:  # the rollback itself must not fail; the file is only left behind
            log.exception("could not remove %s after its transaction rolled back", key)
