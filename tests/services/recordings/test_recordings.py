"""Meeting recordings (spec section 5): upload checks, access for every role, signed
links (range, expiry, tampering, foreign users) and the retention clean-up."""
import io
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, MeetingRecording
from portal.services.recordings.cleanup import recordings_cleanup
from portal.services.recordings.upload import recording_attach

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x00" * 500)
MKV = WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")


@pytest.fixture
def booking(users, make_booking, consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    return make_booking(users["patient"], users["specialist"], NOW - timedelta(days=1))


def attach(users, booking, data=MP4, name="session.mp4", at=NOW, **kwargs):
    with clock.frozen(at):
        return recording_attach(actor=users["admin"], booking_id=booking.id, filename=name,
                                stream=io.BytesIO(data), **kwargs)


def stored(app, recording) -> Path:
    return Path(app.config["RECORDINGS_DIR"]) / recording.storage_path


def count(model=MeetingRecording):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("name, data, fmt", [
    ("a.mp4", MP4, "mp4"), ("a.MOV", MP4.replace(b"isom", b"qt  ", 1), "mov"),
    ("a.webm", WEBM, "webm"), ("a.mkv", MKV, "mkv"),
])
def test_admin_upload_is_stored_with_size_and_format(client, app, users, booking, api_headers, name, data, fmt):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           data={"booking_id": str(booking.id), "duration_seconds": "3600",
                                 "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["file_format"], body["storage_size_bytes"], body["duration_seconds"]) == (fmt, len(data), 3600)
    recording = db.session.get(MeetingRecording, __import__("uuid").UUID(body["id"]))
    on_disk = stored(app, recording).read_bytes()
    assert body["is_encrypted"] is True and recording.is_encrypted
    assert on_disk != data and data[:32] not in on_disk and len(on_disk) > len(data)
    assert stored(app, recording).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name, data", [
    ("a.mp4", b"not a video at all" * 10), ("a.webm", MP4), ("a.mp4", WEBM), ("a.webm", MKV),
    ("a.mkv", WEBM), ("a.avi", MP4), ("noextension", MP4), ("a.mp4", b""),
])
def test_upload_checks_extension_and_content(client, app, users, booking, api_headers, name, data):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           data={"booking_id": str(booking.id), "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"] == "UNSUPPORTED_FORMAT"
    assert count() == 0
    leftovers = [p for p in Path(app.config["RECORDINGS_DIR"]).rglob("*") if p.is_file()
                 and str(booking.id) in p.name]
    assert leftovers == []


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("specialist", 403), ("ops", 404), ("other_patient", 404), ("admin", 201),
])
def test_only_admins_upload(client, users, booking, api_headers, role, status):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users[role]),
                           data={"booking_id": str(booking.id), "file": (io.BytesIO(MP4), "a.mp4")},
                           content_type="multipart/form-data")
    assert response.status_code == status
    assert count() == (1 if status == 201 else 0)


@pytest.mark.parametrize("role, sees", [
    ("patient", True), ("specialist", True), ("admin", True),
    ("other_patient", False), ("other_specialist", False), ("ops", False),
])
def test_who_sees_recordings_and_gets_links(client, users, booking, api_headers, role, sees):
    recording = attach(users, booking)
    headers = api_headers(users[role])
    listed = client.get(f"/api/v1/meeting-recordings?booking_id={booking.id}", headers=headers).get_json()
    assert [i["id"] for i in listed["items"]] == ([str(recording.id)] if sees else [])
    response = client.get(f"/api/v1/meeting-recordings/{recording.id}/signed-url", headers=headers)
    assert response.status_code == (200 if sees else 404)


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("specialist", 403), ("other_patient", 404), ("ops", 404), ("admin", 204),
])
def test_only_admins_delete(client, app, users, booking, api_headers, role, status):
    recording = attach(users, booking)
    path = stored(app, recording)
    response = client.delete(f"/api/v1/meeting-recordings/{recording.id}", headers=api_headers(users[role]))
    assert response.status_code == status
    assert count() == (0 if status == 204 else 1)
    assert path.exists() == (status != 204)


def signed_path(client, headers, recording) -> str:
    url = client.get(f"/api/v1/meeting-recordings/{recording.id}/signed-url", headers=headers).get_json()["url"]
    return url.split("localhost", 1)[-1]


def open_link(client, path, headers):
    """Spend the one-time code: a redirect to the API's stream, carrying the stream cookie."""
    assert path.startswith("/api/v1/meeting-recordings/open/")
    opened = client.get(path, headers=headers)
    assert opened.status_code == 302, opened.get_data(as_text=True)
    assert "recording_grant=" in opened.headers["Set-Cookie"] and "HttpOnly" in opened.headers["Set-Cookie"]
    stream = opened.headers["Location"]
    assert stream == f"/api/v1/meeting-recordings/{stream.split('/')[-2]}/stream"  # no secret in it
    return stream


def test_link_streams_with_range_requests(client, users, booking, api_headers):
    recording = attach(users, booking)
    headers = api_headers(users["patient"])
    with clock.frozen(NOW):
        path = signed_path(client, headers, recording)
        stream = open_link(client, path, headers)
        assert "/open/" not in stream and path.rsplit("/", 1)[-1] not in stream
        with client.get(stream, headers=headers) as whole, \
                client.get(stream, headers={**headers, "Range": "bytes=100-199"}) as part:
            whole.get_data(), part.get_data()
    assert whole.status_code == 200 and whole.data == MP4
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.mimetype == "video/mp4"
    assert part.status_code == 206
    assert part.data == MP4[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(MP4)}"
    assert "no-store" in part.headers["Cache-Control"]


def test_link_expires_and_opens_once(client, app, users, booking, api_headers):
    recording = attach(users, booking)
    headers = api_headers(users["patient"])
    ttl = app.config["RECORDING_LINK_TTL"]
    with clock.frozen(NOW):
        path = signed_path(client, headers, recording)
        late = signed_path(client, headers, recording)
    with clock.frozen(NOW + timedelta(seconds=ttl - 5)):
        stream = open_link(client, path, headers)
        with client.get(stream, headers=headers) as fresh:
            assert fresh.status_code == 200
        again = client.get(path, headers=headers)  # the code is spent
    assert again.status_code == 403 and "already been opened" in again.get_data(as_text=True)
    with clock.frozen(NOW + timedelta(seconds=ttl + 1)):
        expired = client.get(late, headers=headers)
    assert expired.status_code == 403 and expired.data != MP4 and MP4[:64] not in expired.data


def test_stream_cookie_expires_and_is_needed(client, app, users, booking, api_headers):
    recording = attach(users, booking)
    headers = api_headers(users["patient"])
    with clock.frozen(NOW):
        stream = open_link(client, signed_path(client, headers, recording), headers)
    with clock.frozen(NOW + timedelta(seconds=app.config["RECORDING_STREAM_TTL"] + 1)):
        expired = client.get(stream, headers=headers)
    assert expired.status_code == 403 and MP4[:64] not in expired.data
    client.delete_cookie("recording_grant", path=stream)
    with clock.frozen(NOW):
        without = client.get(stream, headers=headers)
    assert without.status_code == 403 and MP4[:64] not in without.data


def test_tampered_or_foreign_links_stream_nothing(client, users, booking, api_headers):
    recording = attach(users, booking)
    with clock.frozen(NOW):
        path = signed_path(client, api_headers(users["patient"]), recording)
        token = path.rsplit("/", 1)[-1]
        tampered = path[:-len(token)] + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        checks = [
            (tampered, users["patient"]),            # altered code
            (path, users["specialist"]),             # a party, but the link is the patient's
            (path, users["other_patient"]),          # not a party at all
            (path, users["admin"]),                  # even an admin gets their own link
        ]
        for url, user in checks:
            response = client.get(url, headers=api_headers(user))
            assert response.status_code in (403, 404)
            assert MP4[:64] not in response.data
        anonymous = client.application.test_client().get(path)
        assert anonymous.status_code in (302, 401) and MP4[:64] not in anonymous.data
        # the cookie is bound to its user and recording: the patient's does not play for the specialist
        stream = open_link(client, path, api_headers(users["patient"]))
        foreign = client.get(stream, headers=api_headers(users["specialist"]))
    assert foreign.status_code == 404 and MP4[:64] not in foreign.data


def test_an_upload_whose_row_is_not_committed_leaves_no_file(app, users, booking):
    recording = attach(users, booking)
    assert stored(app, recording).exists()
    db.session.rollback()  # as when the commit after the upload fails
    assert not stored(app, recording).exists()
    assert count() == 0


def test_a_committed_upload_outlives_later_rollbacks(app, users, booking):
    recording = attach(users, booking)
    db.session.commit()
    savepoint = db.session.begin_nested()
    inner = attach(users, booking)
    savepoint.rollback()  # the savepoint only: its upload goes, the committed one stays
    assert not stored(app, inner).exists() and stored(app, recording).exists()
    db.session.rollback()
    assert stored(app, recording).exists()
    assert count() == 1


def test_cleanup_deletes_expired_files_and_rows_and_survives_missing_files(app, users, booking, caplog):
    keep = attach(users, booking)
    later = attach(users, booking, expires_at=NOW + timedelta(days=30))
    gone = attach(users, booking, expires_at=NOW - timedelta(hours=1), at=NOW - timedelta(days=3))
    missing = attach(users, booking, expires_at=NOW - timedelta(days=2), at=NOW - timedelta(days=3))
    stored(app, missing).unlink()
    with clock.frozen(NOW):
        result = recordings_cleanup()
    assert result == {"checked": 2, "deleted": 2, "missing_files": 1, "errors": 0}
    assert not stored(app, gone).exists() and stored(app, keep).exists() and stored(app, later).exists()
    db.session.expire_all()
    remaining = set(db.session.scalars(sa.select(MeetingRecording.id)))
    assert remaining == {keep.id, later.id}
    run = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "recordings_cleaned_up"))
    assert run.new_values["deleted"] == 2 and run.status == "success"
    deleted = db.session.scalars(sa.select(AuditLog.entity_id).where(AuditLog.action == "recording_deleted"))
    assert set(deleted) == {str(gone.id), str(missing.id)}


def test_cleanup_counts_a_failure_and_carries_on(app, users, booking, monkeypatch):
    first = attach(users, booking, expires_at=NOW - timedelta(days=2), at=NOW - timedelta(days=3))
    second = attach(users, booking, expires_at=NOW - timedelta(days=1), at=NOW - timedelta(days=3))
    from portal.services.recordings.storage import LocalStorage

    real_delete = LocalStorage.delete

    def flaky(self, key):
        if key == first.storage_path:
            raise PermissionError("read-only disk")
        return real_delete(self, key)

    monkeypatch.setattr(LocalStorage, "delete", flaky)
    with clock.frozen(NOW):
        result = recordings_cleanup()
    assert result == {"checked": 2, "deleted": 1, "missing_files": 0, "errors": 1}
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(MeetingRecording.id))) == {first.id}
    assert stored(app, first).exists() and not stored(app, second).exists()
    run = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "recordings_cleaned_up"))
    assert run.status == "success_with_errors"


def test_cleanup_job_and_cli(app, runner, users, booking):
    from portal.jobs.tasks import cleanup_recordings_job

    attach(users, booking, expires_at=NOW - timedelta(days=1), at=NOW - timedelta(days=3))
    with clock.frozen(NOW):
        assert cleanup_recordings_job()["deleted"] == 1
        attach(users, booking, expires_at=NOW - timedelta(days=1), at=NOW - timedelta(days=3))
        output = runner.invoke(args=["cleanup-recordings"])
    assert output.exit_code == 0, output.output
    assert "deleted: 1" in output.output and count() == 0


def test_booking_page_lists_recordings_and_admin_uploads(client, app, users, booking, login_as):
    login_as(users["admin"])
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Attach a recording" in page and "No recording for this session." in page
    response = client.post(f"/bookings/{booking.id}/recordings", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(WEBM), "call.webm"), "duration_seconds": "95",
                                 "expires_at": "2031-01-01T09:00"})
    assert response.status_code == 302
    recording = db.session.scalar(sa.select(MeetingRecording))
    assert recording.expires_at == datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    login_as(users["patient"])
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "WEBM" in html and "1 min 35 s" in html and f"/bookings/recordings/{recording.id}/watch" in html
    assert "Attach a recording" not in html
    refused = client.post(f"/bookings/{booking.id}/recordings", content_type="multipart/form-data",
                          data={"file": (io.BytesIO(WEBM), "call.webm")})
    assert refused.status_code == 403 and count() == 1


def test_page_upload_with_bad_file_flashes_an_error(client, users, booking, login_as):
    login_as(users["admin"])
    response = client.post(f"/bookings/{booking.id}/recordings", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"MZ\x90\x00" * 50), "virus.mp4")},
                           follow_redirects=True)
    assert "is not a mp4 video" in response.get_data(as_text=True) and count() == 0


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("specialist", 403), ("other_patient", 404), ("ops", 404), ("admin", 200),
])
def test_only_admins_change_expiry(client, users, booking, api_headers, role, status):
    recording = attach(users, booking, expires_at=NOW + timedelta(days=1))
    response = client.patch(f"/api/v1/meeting-recordings/{recording.id}", headers=api_headers(users[role]),
                            json={"expires_at": None, "duration_seconds": 60})
    assert response.status_code == status
    db.session.expire_all()
    saved = db.session.get(MeetingRecording, recording.id)
    assert (saved.expires_at is None) == (status == 200)
    bad = client.patch(f"/api/v1/meeting-recordings/{recording.id}", headers=api_headers(users["admin"]),
                       json={"expires_at": "2031-01-01T00:00:00"})
    assert bad.status_code == 400  # naive datetime refused


def _box(kind: bytes, payload: bytes) -> bytes:
    import struct

    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@pytest.mark.parametrize("version", [0, 1])
def test_mp4_duration_is_read_from_the_file_when_not_given(users, booking, version):
    import struct

    if version == 0:
        mvhd = bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, 1000, 754_400) + b"\x00" * 80
    else:
        mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, 600, 600 * 3600) + b"\x00" * 80
    video = (_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2") + _box(b"mdat", b"\x00" * 5000)
             + _box(b"moov", _box(b"mvhd", mvhd) + _box(b"trak", b"\x00" * 40)))
    recording = attach(users, booking, data=video)
    assert recording.duration_seconds == (754 if version == 0 else 3600)
    given = attach(users, booking, data=video, duration_seconds=42)
    assert given.duration_seconds == 42
    assert attach(users, booking).duration_seconds is None  # no moov box: unknown


def _ebml(element_id: int, payload: bytes, *, unknown_size: bool = False) -> bytes:
    id_bytes = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else (0x10000000 | len(payload)).to_bytes(4, "big")
    return id_bytes + size + payload


@pytest.mark.parametrize("name, scale, duration, expected", [
    ("call.webm", 1_000_000, struct.pack(">d", 754_400.0), 754),   # milliseconds, float64
    ("call.mkv", 1_000_000, struct.pack(">f", 90_000.0), 90),      # float32
    ("call.webm", 500_000, struct.pack(">d", 7_200.0), 4),         # another timecode scale
    ("call.webm", 1_000_000, None, None),                          # live recorders leave it out
])
def test_webm_and_mkv_duration_is_read_from_segment_info(users, booking, name, scale, duration, expected):
    doctype = b"webm" if name.endswith("webm") else b"matroska"
    header = _ebml(0x1A45DFA3, _ebml(0x4282, doctype))
    info = _ebml(0x2AD7B1, scale.to_bytes(3, "big")) + (_ebml(0x4489, duration) if duration else b"")
    segment = _ebml(0x18538067, _ebml(0x114D9B74, b"\x00" * 30) + _ebml(0x1549A966, info)
                    + _ebml(0x1F43B675, b"\x00" * 2000), unknown_size=True)
    recording = attach(users, booking, data=header + segment, name=name)
    assert recording.file_format == name.rsplit(".", 1)[1]
    assert recording.duration_seconds == expected


def test_the_api_stream_opens_only_for_the_client_its_grant_names(client, users, booking, api_headers):
    recording = attach(users, booking)
    headers = api_headers(users["patient"])
    with clock.frozen(NOW):
        stream = open_link(client, signed_path(client, headers, recording), headers)
        with client.get(stream, headers=api_headers(users["specialist"])) as other:
            other.get_data()
        g.pop("_login_user", None)
        with client.application.test_client().get(stream) as nobody:
            nobody.get_data()
    assert other.status_code == 404 and MP4[:64] not in other.data
    assert nobody.status_code == 401 and MP4[:64] not in nobody.data


def test_the_browser_link_still_opens_for_a_signed_in_party(client, users, booking, login_as):
    recording = attach(users, booking)
    login_as(users["patient"])
    with clock.frozen(NOW):
        opened = client.get(f"/bookings/recordings/{recording.id}/watch")
        assert opened.status_code == 302 and "recording_grant=" in opened.headers["Set-Cookie"]
        with client.get(opened.headers["Location"], headers={"Range": "bytes=0-9"}) as part:
            part.get_data()
    assert part.status_code == 206 and part.data == MP4[:10]
