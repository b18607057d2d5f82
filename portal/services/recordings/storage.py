"""Where recording files live. The portal talks to a `Storage`: the local
filesystem backend (under RECORDINGS_DIR, inside instance/, files 0600) or an
S3-compatible bucket (RECORDINGS_STORAGE=s3://bucket/prefix), so that several
web machines can play the same recordings. Both store only ciphertext; the
portal always streams (and decrypts) recordings itself."""
from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from pathlib import Path
from stat import S_ISDIR
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, SessionTransaction

from portal.services.recordings.streams import read_full

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_UNCOMMITTED = "portal.uncommitted_files"


class StorageUnavailable(OSError):
    """The store answered with an error other than "no such object" (refused, throttled, down):
    a read error like a local disk's, so callers handle both alike."""


class Storage(Protocol):
    def save(self, key: str, source: BinaryIO) -> int:
        """Store the stream under `key` (copied in chunks, never whole); return its size in bytes."""

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes from `start` (fewer at the end of the object)."""

    def head(self, key: str, size: int) -> bytes:
        """The first `size` bytes of the stored object."""

    def delete(self, key: str) -> bool:
        """Remove the object; False when it was already missing."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The stored object's size in bytes: FileNotFoundError when there is none,
        IsADirectoryError when the key names a folder."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path, if the backend has one (the local backend only)."""


class LocalStorage:
    """Files under one root directory, readable by the portal's user only (0600).
    Writes go to a temporary file beside the target and are renamed into place, so
    a half-written upload is never seen."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    def save(self, key: str, source: BinaryIO) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self._path(key), "rb") as handle:
            handle.seek(start)
            return handle.read(length)

    def head(self, key: str, size: int) -> bytes:
        return self.read_range(key, 0, size)

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            stat = path.stat()
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):  # no such file can exist
                raise FileNotFoundError(key) from error
            raise
        if S_ISDIR(stat.st_mode):
            raise IsADirectoryError(key)
        return stat.st_size

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


class S3Storage:
    """Objects in an S3-compatible bucket under a prefix. Endpoint, region and credentials
    come from the environment as boto3 reads them (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) or from RECORDINGS_S3_ENDPOINT_URL. Uploads
    are multipart, one part in memory at a time; an object appears only when complete."""

    PART = 8 * 1024 * 1024

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client=None):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}))
        self._transfer = TransferConfig(multipart_threshold=self.PART, multipart_chunksize=self.PART,
                                        max_concurrency=1, use_threads=False)

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError("storage key escapes the storage prefix")
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, source: BinaryIO) -> int:
        counted = _Counting(source)
        self.client.upload_fileobj(counted, self.bucket, self._key(key), Config=self._transfer)
        return counted.size

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key),
                                            Range=f"bytes={start}-{start + length - 1}")
            return answer["Body"].read()  # a connection lost mid-body is a BotoCoreError too
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("InvalidRange", "416"):
                return b""
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from error
            raise StorageUnavailable(f"{key}: {error}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"{key}: {error}") from error

    def head(self, key: str, size: int) -> bytes:
        return self.read_range(key, 0, size)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise StorageUnavailable(f"{key}: {error}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"{key}: {error}") from error
        if self._is_folder(key):
            raise IsADirectoryError(key)
        raise FileNotFoundError(key)

    def _is_folder(self, key: str) -> bool:
        """Whether objects are stored under `key/` (S3 has no folders, only shared prefixes)."""
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self._key(key) + "/", MaxKeys=1)
        return listing.get("KeyCount", 0) > 0

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return True

    def local_path(self, key: str) -> Path | None:
        return None


class _Counting:
    """A read-only stream that counts the bytes read through it, and answers each read
    in full until the end (s3transfer takes a short read for the end of the stream)."""

    def __init__(self, source: BinaryIO):
        self._source, self.size = source, 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read() if size is None or size < 0 else read_full(self._source, size)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True


def storage_from_setting(setting: str, *, local_root: str | os.PathLike, endpoint_url: str | None = None) -> Storage:
    """"local" or "s3://bucket/prefix"."""
    if setting in ("", "local"):
        return LocalStorage(local_root)
    if setting.startswith("s3://"):
        bucket, _, prefix = setting[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError("RECORDINGS_STORAGE=s3://... must name a bucket")
        return S3Storage(bucket, prefix, endpoint_url=endpoint_url)
    raise ValueError(f"RECORDINGS_STORAGE must be 'local' or 's3://bucket/prefix', not {setting!r}")


def get_storage() -> Storage:
    """The configured backend (RECORDINGS_STORAGE), made once per app."""
    config = current_app.config
    setting = config.get("RECORDINGS_STORAGE") or "local"
    endpoint = config.get("RECORDINGS_S3_ENDPOINT_URL")
    cache = current_app.extensions.setdefault("recording_storage", {})
    cache_key = (setting, endpoint, config["RECORDINGS_DIR"])
    if cache_key not in cache:
        cache[cache_key] = storage_from_setting(setting, local_root=config["RECORDINGS_DIR"], endpoint_url=endpoint)
    return cache[cache_key]


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
