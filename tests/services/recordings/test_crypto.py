"""Recordings encrypted at rest, on both backends: what is stored is not the video,
ranges decrypt only what they cover, tampering is caught, keys rotate, old plain files
are encrypted in place, every link and stream start is audited, retention applies."""
from __future__ import annotations

import io
import logging
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, MeetingRecording
from portal.services.recordings.crypto import CHUNK_SIZE, HEADER, OVERHEAD
from portal.services.recordings.keys import key_id
from portal.services.recordings.storage import get_storage
from portal.services.recordings.upload import recording_attach
from tests.conftest import TEST_RECORDINGS_KEY
from tests.services.recordings.test_storage import s3_bucket, s3_server  # noqa: F401 (fixtures)

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)
FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
VIDEO = FTYP + os.urandom(5 * CHUNK_SIZE + 1234)  # six chunks, the last one short
OTHER_KEY = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="


@pytest.fixture(params=["local", "s3"])
def backend(request, app, monkeypatch):
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        monkeypatch.setitem(app.config, "RECORDINGS_STORAGE", f"s3://{bucket}/recordings")
    return request.param


@pytest.fixture
def booking(users, make_booking, consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    return make_booking(users["patient"], users["specialist"], NOW - timedelta(days=1))


def attach(users, booking, data=VIDEO, **kwargs):
    with clock.frozen(NOW):
        recording = recording_attach(actor=users["admin"], booking_id=booking.id, filename="s.mp4",
                                     stream=io.BytesIO(data), **kwargs)
    db.session.commit()
    return recording


def stored_bytes(recording) -> bytes:
    storage = get_storage()
    return storage.read_range(recording.storage_path, 0, 10 * len(VIDEO))


def overwrite(recording, data: bytes) -> None:
    get_storage().save(recording.storage_path, io.BytesIO(data))


def play(client, api_headers, user, recording, **headers):
    auth = api_headers(user)
    with clock.frozen(NOW):
        url = client.get(f"/api/v1/meeting-recordings/{recording.id}/signed-url", headers=auth).get_json()["url"]
        opened = client.get(url.split("localhost", 1)[-1], headers=auth)
        assert opened.status_code == 302
        with client.get(opened.headers["Location"], headers={**auth, **headers}) as response:
            response.get_data()
    return response


def test_what_is_stored_is_not_the_video(app, users, booking, backend):
    recording = attach(users, booking)
    stored = stored_bytes(recording)
    assert recording.is_encrypted and recording.storage_size_bytes == len(VIDEO)
    assert len(stored) == HEADER + len(VIDEO) + 6 * OVERHEAD
    assert b"ftyp" not in stored[:64] and VIDEO[1000:1064] not in stored
    assert recording.encryption_key_id == key_id(__import__("base64").b64decode(TEST_RECORDINGS_KEY))
    assert VIDEO[:32] not in recording.wrapped_data_key


def test_whole_file_and_a_range_in_the_middle(client, app, users, booking, api_headers, backend):
    recording = attach(users, booking)
    whole = play(client, api_headers, users["patient"], recording)
    assert whole.status_code == 200 and whole.data == VIDEO
    start = 2 * CHUNK_SIZE + 1000  # inside chunk 2, running into chunk 3
    part = play(client, api_headers, users["patient"], recording, Range=f"bytes={start}-{start + 70_000}")
    assert part.status_code == 206 and part.data == VIDEO[start:start + 70_001]
    assert part.headers["Content-Range"] == f"bytes {start}-{start + 70_000}/{len(VIDEO)}"
    tail = play(client, api_headers, users["patient"], recording, Range="bytes=-10")
    assert tail.status_code == 206 and tail.data == VIDEO[-10:]
    beyond = play(client, api_headers, users["patient"], recording, Range=f"bytes={len(VIDEO) + 5}-")
    assert beyond.status_code == 416


def test_a_flipped_byte_is_detected_and_never_served(client, app, users, booking, api_headers, backend, caplog):
    recording = attach(users, booking)
    stored = bytearray(stored_bytes(recording))
    stored[HEADER + 3 * (CHUNK_SIZE + OVERHEAD) + 500] ^= 0x01  # inside chunk 3
    overwrite(recording, bytes(stored))
    with caplog.at_level(logging.ERROR, logger="portal"):
        whole = play(client, api_headers, users["patient"], recording)
    assert whole.status_code == 200  # headers went out with chunks 0-2 ...
    assert whole.data == VIDEO[:3 * CHUNK_SIZE]  # ... and the response ends before the bad chunk
    assert f"recording {recording.id}: chunk 3 failed authentication" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="portal"):
        seek = play(client, api_headers, users["patient"], recording, Range=f"bytes={3 * CHUNK_SIZE + 10}-")
    assert seek.status_code == 500 and VIDEO[3 * CHUNK_SIZE + 10:3 * CHUNK_SIZE + 40] not in seek.data
    assert "damaged" in seek.get_data(as_text=True) and "chunk 3 failed" in caplog.text


def test_swapped_or_cut_chunks_are_detected(client, app, users, booking, api_headers, caplog):
    recording = attach(users, booking)
    stored = stored_bytes(recording)
    size = CHUNK_SIZE + OVERHEAD
    one, two = stored[HEADER + size:HEADER + 2 * size], stored[HEADER + 2 * size:HEADER + 3 * size]
    overwrite(recording, stored[:HEADER + size] + two + one + stored[HEADER + 3 * size:])
    swapped = play(client, api_headers, users["patient"], recording)
    assert swapped.data == VIDEO[:CHUNK_SIZE]
    overwrite(recording, stored[:HEADER + 5 * size])  # the short last chunk cut off
    cut = play(client, api_headers, users["patient"], recording, Range=f"bytes={4 * CHUNK_SIZE}-")
    assert cut.status_code == 206 and cut.data == VIDEO[4 * CHUNK_SIZE:5 * CHUNK_SIZE]
    assert "failed authentication" in caplog.text


def test_rotation_rewraps_keys_and_old_recordings_still_play(client, app, runner, users, booking,
                                                            api_headers, monkeypatch, backend):
    old = attach(users, booking)
    before = stored_bytes(old)
    monkeypatch.setitem(app.config, "RECORDINGS_KEY", OTHER_KEY)
    monkeypatch.setitem(app.config, "RECORDINGS_OLD_KEYS", TEST_RECORDINGS_KEY)
    assert play(client, api_headers, users["patient"], old).data == VIDEO  # readable through the old key
    new = attach(users, booking)
    result = runner.invoke(args=["recordings", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "Data keys re-wrapped: 1, errors: 0" in result.output
    db.session.expire_all()
    new_id = key_id(__import__("base64").b64decode(OTHER_KEY))
    assert {r.encryption_key_id for r in db.session.scalars(sa.select(MeetingRecording))} == {new_id}
    assert stored_bytes(old) == before  # the file was not touched
    monkeypatch.setitem(app.config, "RECORDINGS_OLD_KEYS", "")  # the old key retired
    assert play(client, api_headers, users["patient"], old).data == VIDEO
    assert play(client, api_headers, users["patient"], new).data == VIDEO
    again = runner.invoke(args=["recordings", "rotate-key"])
    assert "Data keys re-wrapped: 0" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "recording_key_rewrapped")) == 1


def test_a_recording_under_an_unknown_key_refuses_to_play(client, app, users, booking, api_headers, monkeypatch):
    recording = attach(users, booking)
    monkeypatch.setitem(app.config, "RECORDINGS_KEY", OTHER_KEY)
    response = play(client, api_headers, users["patient"], recording)
    assert response.status_code == 500 and VIDEO[:64] not in response.data


def _plain_recording(booking, data=VIDEO) -> MeetingRecording:
    recording = MeetingRecording(id=uuid.uuid4(), booking_id=booking.id, storage_path=f"old/{uuid.uuid4()}.mp4",
                                 storage_size_bytes=len(data), file_format="mp4", is_encrypted=False)
    get_storage().save(recording.storage_path, io.BytesIO(data))
    db.session.add(recording)
    db.session.commit()
    return recording


def test_existing_plain_files_are_encrypted_in_place_idempotently(client, app, runner, users, booking,
                                                                  api_headers, backend):
    plain = _plain_recording(booking)
    assert play(client, api_headers, users["patient"], plain).data == VIDEO  # still plays before
    result = runner.invoke(args=["recordings", "encrypt-existing"])
    assert result.exit_code == 0, result.output
    assert "Recordings encrypted: 1, resumed: 0" in result.output
    db.session.expire_all()
    plain = db.session.get(MeetingRecording, plain.id)
    assert plain.is_encrypted and plain.encryption_key_id and stored_bytes(plain) != VIDEO
    assert VIDEO[100:164] not in stored_bytes(plain)
    assert play(client, api_headers, users["patient"], plain).data == VIDEO
    again = runner.invoke(args=["recordings", "encrypt-existing"])
    assert "Recordings encrypted: 0, resumed: 0, files missing: 0, errors: 0" in again.output


def test_encrypting_resumes_after_a_crash_between_file_and_row(client, app, runner, users, booking,
                                                               api_headers, monkeypatch):
    import portal.services.recordings.maintenance as service

    plain = _plain_recording(booking)
    real_verify = service.ChunkReader

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the file was replaced, before the row says so

    monkeypatch.setattr(service, "ChunkReader", crash)
    with pytest.raises(KeyboardInterrupt):
        service._encrypt_one(plain.id)
    db.session.rollback()
    monkeypatch.setattr(service, "ChunkReader", real_verify)
    db.session.expire_all()
    row = db.session.get(MeetingRecording, plain.id)
    assert not row.is_encrypted and row.wrapped_data_key is not None  # the key was kept first
    assert stored_bytes(row) != VIDEO
    result = runner.invoke(args=["recordings", "encrypt-existing"])
    assert "Recordings encrypted: 0, resumed: 1" in result.output, result.output
    assert play(client, api_headers, users["patient"], row).data == VIDEO


def test_links_and_stream_starts_are_audited_without_the_code(client, app, users, booking, api_headers,
                                                             login_as):
    recording = attach(users, booking)
    response = play(client, api_headers, users["patient"], recording)
    play(client, api_headers, users["patient"], recording, Range="bytes=5000-6000")  # a seek: not a new view
    rows = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_id == str(recording.id),
                                                          AuditLog.action.like("recording_%"))
                                   .order_by(AuditLog.id)))
    actions = sorted((r.action, r.actor_id) for r in rows if r.action != "recording_attached")
    assert actions == [("recording_link_created", users["patient"].id)] * 2 + [
        ("recording_stream_started", users["patient"].id)]
    assert response.status_code == 200
    text = " ".join(str(r.new_values) for r in rows)
    assert "signed_link" in text and "/recordings/open/" not in text and "code" not in text
    # the booking page's player is audited as a link too
    login_as(users["specialist"])
    with clock.frozen(NOW):
        watch = client.get(f"/bookings/recordings/{recording.id}/watch")
        assert watch.status_code == 302 and "recording_grant=" in watch.headers["Set-Cookie"]
        with client.get(watch.headers["Location"]) as streamed:
            assert streamed.get_data() == VIDEO
    page_rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.actor_id == users["specialist"].id))
    assert sorted(r.action for r in page_rows) == ["recording_link_created", "recording_stream_started"]


def test_retention_defaults_from_the_session_and_refuses_the_past(client, app, users, booking, api_headers,
                                                                  monkeypatch, make_booking):
    recording = attach(users, booking)
    assert recording.expires_at == booking.starts_at + timedelta(days=90)
    monkeypatch.setitem(app.config, "RECORDING_RETENTION_DAYS", 30)
    assert attach(users, booking).expires_at == booking.starts_at + timedelta(days=30)
    headers = api_headers(users["admin"])
    with clock.frozen(NOW):
        past = client.post("/api/v1/meeting-recordings", headers=headers, content_type="multipart/form-data",
                           data={"booking_id": str(booking.id), "expires_at": "2030-05-01T00:00:00+00:00",
                                 "file": (io.BytesIO(VIDEO), "s.mp4")})
        old_session = make_booking(users["patient"], users["specialist"], NOW - timedelta(days=45))
        too_old = client.post("/api/v1/meeting-recordings", headers=headers, content_type="multipart/form-data",
                              data={"booking_id": str(old_session.id), "file": (io.BytesIO(VIDEO), "s.mp4")})
        refused_patch = client.patch(f"/api/v1/meeting-recordings/{recording.id}", headers=headers,
                                     json={"expires_at": "2030-01-01T00:00:00+00:00"})
        extended = client.patch(f"/api/v1/meeting-recordings/{recording.id}", headers=headers,
                                json={"expires_at": "2031-06-01T00:00:00+00:00"})
        by_patient = client.patch(f"/api/v1/meeting-recordings/{recording.id}",
                                  headers=api_headers(users["patient"]),
                                  json={"expires_at": "2032-06-01T00:00:00+00:00"})
    for response in (past, too_old, refused_patch):
        body = response.get_json()
        assert response.status_code == 400 and body["error"] == "INVALID_REQUEST" and "expires_at" in body["fields"]
    assert extended.status_code == 200 and extended.get_json()["expires_at"].startswith("2031-06-01")
    assert by_patient.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRecording)) == 2


def test_cleanup_deletes_from_the_backend(app, users, booking, backend):
    from portal.services.recordings.cleanup import recordings_cleanup

    with clock.frozen(NOW - timedelta(days=5)):
        gone = recording_attach(actor=users["admin"], booking_id=booking.id, filename="s.mp4",
                                stream=io.BytesIO(VIDEO), expires_at=NOW - timedelta(days=1))
    keep = attach(users, booking)
    with clock.frozen(NOW):
        result = recordings_cleanup()
    assert result["deleted"] == 1 and result["errors"] == 0
    storage = get_storage()
    assert not storage.exists(gone.storage_path) and storage.exists(keep.storage_path)


def test_cleanup_removes_expired_link_codes(client, app, users, booking, api_headers):
    from portal.models import RecordingAccessCode
    from portal.services.recordings.cleanup import recordings_cleanup

    recording = attach(users, booking)
    headers = api_headers(users["patient"])
    with clock.frozen(NOW):
        client.get(f"/api/v1/meeting-recordings/{recording.id}/signed-url", headers=headers)
    with clock.frozen(NOW + timedelta(seconds=app.config["RECORDING_LINK_TTL"] - 1)):
        recordings_cleanup()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecordingAccessCode)) == 1
    with clock.frozen(NOW + timedelta(seconds=app.config["RECORDING_LINK_TTL"] + 1)):
        recordings_cleanup()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecordingAccessCode)) == 0


# Objects written by the portal before: their bytes must keep decrypting, whatever the code becomes.
STORED_BEFORE = [
    (uuid.UUID("00000000-0000-4000-8000-00000000c0de"), b"Recorded sessions stay readable: 40 b.",
     "50524331000000107dfac30cc406b7bbf26cd9cebeaec23e68869d999fa81d197db3e47ca018ec5005342650c260bdcb9d3624f9"
     "91a5e434fcf61b8d74237e293311c90ea8c5cc505e70992b6f778fefe59310d2fae7843431b42b8d601e23ef2cfd40c753dde5af"
     "13470ff976986485e874bdcdf237cbdf9dcfb9947cf17a7a3bf1",
     "8f527918c500ff66c8202b4e1628849691d5ea036ee4f24b43edb82540f72e76c7f5827f7e8ad3e4e3c9656dab2484cf10e452a3"
     "3722cfe0acec94f2"),
    (uuid.UUID("00000000-0000-4000-8000-00000000beef"), b"one chunk, default size",
     "5052433100010000a46b108318024391c3aea5bda3ebc9430258c7b5c1600b332110d14807756b7089bc2a36bd89057a47d6e2a5"
     "78a19430185322",
     "284bf5612e343d676f85746b2f55e09ab5f9fadde5109bcab928e1fe23d40a7474a8ab33382d70757f6cda8d9a7f576d12633514"
     "bc2fd6da83c5fc36"),
]


@pytest.mark.parametrize(("recording_id", "video", "stored", "wrapped_key"), STORED_BEFORE)
def test_recordings_stored_before_still_play(client, app, users, booking, api_headers, backend,
                                             recording_id, video, stored, wrapped_key):
    """Three 16-byte chunks (the chunk size is in the header) and one short chunk of the default size."""
    recording = MeetingRecording(id=recording_id, booking_id=booking.id, storage_path=f"before/{recording_id}.mp4.enc",
                                 storage_size_bytes=len(video), file_format="mp4", is_encrypted=True,
                                 encryption_key_id="k67f9644248d3eef", wrapped_data_key=bytes.fromhex(wrapped_key),
                                 expires_at=NOW + timedelta(days=30))
    get_storage().save(recording.storage_path, io.BytesIO(bytes.fromhex(stored)))
    db.session.add(recording)
    db.session.commit()
    assert play(client, api_headers, users["patient"], recording).data == video
    part = play(client, api_headers, users["patient"], recording, Range="bytes=10-20")
    assert part.status_code == 206 and part.data == video[10:21]


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
def test_an_upload_spool_gives_back_what_was_written_and_holds_only_ciphertext(size):
    from portal.services.recordings.crypto import EncryptedSpool

    data = (FTYP + os.urandom(size))[:size]
    spool = EncryptedSpool()
    for start in range(0, size, 10_000):  # Werkzeug writes what it has received, in uneven pieces
        spool.write(data[start:start + 10_000])
    spool.seek(0)
    assert spool.read(7) + spool.read() == data
    spool.seek(0)
    assert spool.read() == data  # rewound, it reads again
    spool._file.seek(0)
    on_disk = spool._file.read()
    assert len(on_disk) == HEADER + size + max(1, -(-size // CHUNK_SIZE)) * OVERHEAD
    assert size < 64 or data[:64] not in on_disk
    spool.close()
