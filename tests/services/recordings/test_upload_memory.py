"""A 200 MB upload to a real server process: encrypted while it is received (the spool
and the stored file hold ciphertext only) with the process's peak memory (RSS high-water
mark, from /proc) under 100 MB above what it used at rest."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.extensions import db
from portal.models import Booking, Consent, MeetingRecording
from tests.conftest import TEST_RECORDINGS_KEY

SIZE = 200 * 1024 * 1024
PIECE = 1024 * 1024
FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
SERVER = textwrap.dedent("""
    import sys
    from werkzeug.serving import make_server
    from portal import create_app

    app = create_app({"TESTING": False, "SECRET_KEY": sys.argv[5], "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "RECORDINGS_DIR": sys.argv[2], "RECORDINGS_KEY": sys.argv[3], "REDIS_URL": None,
                      "RATELIMIT_STORAGE_URI": "memory://", "WTF_CSRF_ENABLED": False},
                     instance_path=sys.argv[4])
    server = make_server("127.0.0.1", 0, app, threaded=False)
    print(server.server_port, flush=True)
    server.serve_forever()
""")


def _memory(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


def _upload(port: int, token: str, booking_id, size: int, tmp_marker: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"booking_id\"\r\n\r\n{booking_id}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    piece = (tmp_marker * (PIECE // len(tmp_marker) + 1))[:PIECE]

    def body():
        yield head
        yield FTYP + piece[len(FTYP):]
        for _ in range(size // PIECE - 1):
            yield piece
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/api/v1/meeting-recordings", body=body(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail))})
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, payload


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_a_200_mb_upload_is_encrypted_as_received_with_bounded_memory(committed_db, tmp_path):
    from portal.services.users import api_token_create, user_create

    admin, patient, specialist = (user_create(email=f"{role}-{uuid.uuid4().hex[:6]}@example.test",
                                              password="correct-horse-battery", role=role)
                                  for role in ("admin", "patient", "specialist"))
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=1), status="completed", price=100, currency="USD")
    db.session.add(booking)
    db.session.add(Consent(patient_id=patient.id, kind="recording", specialist_id=specialist.id))
    token = api_token_create(user=admin, name="memory")
    db.session.commit()
    recordings_dir = tmp_path / "recordings"
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    env = {**os.environ, "TMPDIR": str(spool_dir), "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, committed_db.config["SQLALCHEMY_DATABASE_URI"], str(recordings_dir),
         TEST_RECORDINGS_KEY, str(tmp_path / "instance"), committed_db.config["SECRET_KEY"]],
        stdout=subprocess.PIPE, env=env)
    try:
        port = int(server.stdout.readline())
        marker = b"PLAINTEXT-MARKER-" + uuid.uuid4().hex.encode()
        status, warm = _upload(port, token, booking.id, 4 * PIECE, marker)  # warm up: imports, pools
        assert status == 201, warm
        time.sleep(0.2)
        rest = _memory(server.pid)["VmRSS"]
        exact_peak = _reset_peak(server.pid)
        started = time.monotonic()
        status, body = _upload(port, token, booking.id, SIZE, marker)
        elapsed = time.monotonic() - started
        memory = _memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
    assert status == 201, body
    growth = memory["VmHWM"] - rest
    print(f"200 MB upload: {elapsed:.1f} s, rest RSS {rest / 2**20:.0f} MB, peak {memory['VmHWM'] / 2**20:.0f} MB"
          f" (+{growth / 2**20:.0f} MB; peak reset: {exact_peak})")
    assert growth < 100 * 1024 * 1024
    assert body["storage_size_bytes"] == SIZE and body["is_encrypted"] is True
    db.session.rollback()  # a fresh snapshot: the server committed the row
    recording = db.session.get(MeetingRecording, uuid.UUID(body["id"]))
    stored = recordings_dir / recording.storage_path
    assert stored.stat().st_size > SIZE and stored.stat().st_mode & 0o777 == 0o600
    with open(stored, "rb") as handle:
        sample = handle.read(8 * PIECE)
    assert marker not in sample and b"ftyp" not in sample[:64]
    assert list(spool_dir.iterdir()) == []  # the encrypted spool is gone with the request
