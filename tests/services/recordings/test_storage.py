"""One storage test suite, run against the local backend and against the S3 backend
talking to a real S3-compatible server (moto in server mode) on 127.0.0.1."""
from __future__ import annotations

import io
import os
import socket
import uuid

import pytest

from portal.services.recordings.crypto import CHUNK_SIZE, ChunkReader, EncryptingReader, new_data_key
from portal.services.recordings.storage import LocalStorage, S3Storage, storage_from_setting


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 on 127.0.0.1, with throwaway credentials in the environment (as boto3 reads them)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {name: os.environ.get(name) for name in
             ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_bucket(s3_server):
    import boto3

    name = f"recordings-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "recordings")
    bucket = request.getfixturevalue("s3_bucket")
    return storage_from_setting(f"s3://{bucket}/clinic/recordings", local_root=tmp_path)


PATTERN = bytes(range(251))


class Pieces(io.RawIOBase):
    """A stream of `total` bytes made on demand (never whole in memory)."""

    def __init__(self, total: int, seed: int = 7):
        self.total, self.sent, self.seed = total, 0, seed

    def readable(self):
        return True

    def read(self, size=-1):
        size = min(self.total - self.sent, 1024 * 1024 if size < 0 else size, 1024 * 1024)
        start = (self.sent + self.seed) % 251
        data = (PATTERN * (size // 251 + 2))[start:start + size]
        self.sent += len(data)
        return data


def test_save_read_ranges_and_delete(storage):
    data = os.urandom(300_000)
    assert storage.save("sessions/2030-05/a.bin", io.BytesIO(data)) == len(data)
    assert storage.exists("sessions/2030-05/a.bin")
    assert storage.head("sessions/2030-05/a.bin", 100) == data[:100]
    assert storage.read_range("sessions/2030-05/a.bin", 150_000, 1000) == data[150_000:151_000]
    assert storage.read_range("sessions/2030-05/a.bin", len(data) - 10, 1000) == data[-10:]
    assert storage.delete("sessions/2030-05/a.bin") is True
    assert not storage.exists("sessions/2030-05/a.bin")
    assert storage.delete("sessions/2030-05/a.bin") is False


def test_size_is_the_stored_objects_and_tells_a_missing_file_from_a_folder(storage):
    storage.save("sessions/2030-05/a.bin", io.BytesIO(b"x" * 144))
    assert storage.size("sessions/2030-05/a.bin") == 144
    with pytest.raises(FileNotFoundError):
        storage.size("sessions/2030-05/b.bin")
    with pytest.raises(IsADirectoryError):
        storage.size("sessions/2030-05")
    with pytest.raises(FileNotFoundError) as missing_read:
        storage.read_range("sessions/2030-05/b.bin", 0, 10)
    assert isinstance(missing_read.value, OSError)


def test_large_objects_are_streamed_in_parts(storage):
    """Bigger than one S3 multipart part: the object is whole once, and only then, saved."""
    total = 2 * S3Storage.PART + 12_345
    assert storage.save("big.bin", Pieces(total)) == total
    offset = S3Storage.PART + 5
    start = (offset + 7) % 251
    assert storage.read_range("big.bin", offset, 64) == (PATTERN * 2)[start:start + 64]


def test_a_failed_upload_leaves_nothing(storage):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def readable(self):
            return True

        def read(self, size=-1):
            self.calls += 1
            if self.calls > 3:
                raise OSError("client went away")
            return b"x" * (size if 0 < size < 9_000_000 else 9_000_000)

    with pytest.raises(OSError):
        storage.save("half.bin", Broken())
    assert not storage.exists("half.bin")


def test_keys_cannot_escape_the_root_or_prefix(storage):
    with pytest.raises(ValueError):
        storage.save("../outside.bin", io.BytesIO(b"x"))


def test_encrypted_range_reads_fetch_only_the_chunks_needed(storage):
    recording_id, key = uuid.uuid4(), new_data_key()
    data = os.urandom(5 * CHUNK_SIZE + 999)
    storage.save("rec.enc", EncryptingReader(io.BytesIO(data), key, recording_id))
    reads = []
    real = storage.read_range

    def counting(name, start, length):
        reads.append((start, length))
        return real(name, start, length)

    storage.read_range = counting
    reader = ChunkReader(storage, "rec.enc", key, recording_id, len(data))
    middle = 2 * CHUNK_SIZE + 100
    assert reader.read_range(middle, 5000) == data[middle:middle + 5000]
    fetched = sum(length for _start, length in reads[1:])  # after the 8-byte header
    assert fetched < 2 * (CHUNK_SIZE + 28)  # one chunk (maybe two), not the file


def test_local_files_are_private(tmp_path):
    storage = LocalStorage(tmp_path / "r")
    storage.save("a/b.bin", io.BytesIO(b"secret"))
    assert (tmp_path / "r" / "a" / "b.bin").stat().st_mode & 0o777 == 0o600


def test_a_key_no_file_can_have_is_missing_not_an_error(storage):
    storage.save("sessions/a.bin", io.BytesIO(b"x"))
    for key in ("sessions/a.bin/inside.bin", "sessions/" + "n" * 300 + ".bin"):
        with pytest.raises(FileNotFoundError):
            storage.size(key)
