"""Playing recordings at their edges: past their expiry, registered files that are missing,
folders or of another size, read errors, and Range headers naming several ranges. The
registration and length tests run against the local backend and S3 (moto's server)."""
from __future__ import annotations

import io
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from portal import clock
from portal.services.recordings.storage import StorageUnavailable, get_storage
from tests.services.recordings.test_recordings import MP4, NOW, attach, open_link, signed_path
from tests.services.recordings.test_storage import s3_bucket, s3_server  # noqa: F401 -- fixtures

REGISTER = "/api/v1/meeting-recordings"


@pytest.fixture
def booking(users, make_booking, consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    return make_booking(users["patient"], users["specialist"], NOW - timedelta(days=1))


@pytest.fixture(params=["local", "s3"])
def backend(request, app, monkeypatch):
    """The app's recordings storage: the local directory, or a fresh bucket on moto's S3."""
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        monkeypatch.setitem(app.config, "RECORDINGS_STORAGE", f"s3://{bucket}/clinic")
    return get_storage()


def stored_key(backend, data: bytes) -> str:
    key = f"imported/{uuid.uuid4()}.mp4"
    backend.save(key, io.BytesIO(data))
    return key


def register(client, users, booking, api_headers, key: str, size: int):
    return client.post(REGISTER, headers=api_headers(users["admin"]), json={
        "booking_id": str(booking.id), "storage_path": key, "file_format": "mp4", "storage_size_bytes": size})


def watch(client, login_as, user, recording_id):
    """Open the booking page's player as `user`: the stream's path, its cookie set."""
    login_as(user)
    opened = client.get(f"/bookings/recordings/{recording_id}/watch")
    assert opened.status_code == 302, opened.text
    return opened.headers["Location"]


def get_whole(client, path: str, **headers):
    with client.get(path, headers=headers) as response:
        response.get_data()
    return response


# ---- expiry -----------------------------------------------------------------------------

def test_a_recording_past_its_expiry_gets_no_link_and_streams_no_more(
        client, users, booking, api_headers, login_as):
    recording = attach(users, booking, expires_at=NOW + timedelta(minutes=5))  # within the link's 15 minutes
    patient = api_headers(users["patient"])
    with clock.frozen(NOW):
        link = client.get(f"{REGISTER}/{recording.id}/signed-url", headers=patient).get_json()["url"]
        stream = watch(client, login_as, users["patient"], recording.id)
        assert get_whole(client, stream).data == MP4
    with clock.frozen(NOW + timedelta(minutes=5)):
        refused = client.get(f"{REGISTER}/{recording.id}/signed-url", headers=patient)
        assert refused.status_code == 404 and "expired" in refused.get_json()["message"]
        streamed = get_whole(client, stream)  # a cookie given before the expiry
        assert streamed.status_code == 404 and MP4[:64] not in streamed.data
        assert client.get(link.split("localhost", 1)[-1]).status_code == 404  # a link issued before it
        assert client.get(f"/bookings/recordings/{recording.id}/watch").status_code == 404
        page = client.get(f"/bookings/{booking.id}").text
    assert "This recording has expired" in page and f"/recordings/{recording.id}/watch" not in page


def test_a_recording_before_its_expiry_still_plays_and_shows_its_player(client, users, booking, login_as):
    recording = attach(users, booking, expires_at=NOW + timedelta(hours=1))
    with clock.frozen(NOW + timedelta(minutes=59)):
        assert get_whole(client, watch(client, login_as, users["patient"], recording.id)).status_code == 200
        assert f"/recordings/{recording.id}/watch" in client.get(f"/bookings/{booking.id}").text


# ---- registering a file stored elsewhere ----------------------------------------------

def test_a_registration_naming_a_missing_file_or_a_folder_is_refused(
        client, users, booking, api_headers, backend):
    folder_file = stored_key(backend, MP4)
    folder = folder_file.rsplit("/", 1)[0]
    missing = register(client, users, booking, api_headers, f"imported/{uuid.uuid4()}.mp4", len(MP4))
    assert missing.status_code == 404 and missing.get_json()["fields"] == {"storage_path": "No file is stored there."}
    named_folder = register(client, users, booking, api_headers, folder, len(MP4))
    assert named_folder.status_code == 404
    assert named_folder.get_json()["fields"] == {"storage_path": "A folder, not a file."}


def test_a_registration_whose_size_disagrees_with_the_stored_file_is_refused(
        client, users, booking, api_headers, backend):
    key = stored_key(backend, MP4[:144])
    wrong = register(client, users, booking, api_headers, key, 1_000)
    assert wrong.status_code == 400
    assert wrong.get_json()["fields"] == {"storage_size_bytes": "The stored file has 144 bytes."}
    assert register(client, users, booking, api_headers, key, 144).status_code == 201


def test_a_registered_file_streams_as_long_as_the_stored_object(
        client, users, booking, api_headers, login_as, backend):
    key = stored_key(backend, MP4[:144])
    recording_id = register(client, users, booking, api_headers, key, 144).get_json()["id"]
    backend.save(key, io.BytesIO(MP4[:200]))  # replaced in the store after registration
    stream = watch(client, login_as, users["patient"], recording_id)
    whole = get_whole(client, stream)
    assert whole.status_code == 200 and whole.headers["Content-Length"] == "200" and whole.data == MP4[:200]
    tail = get_whole(client, stream, Range="bytes=150-")
    assert tail.status_code == 206 and tail.headers["Content-Range"] == "bytes 150-199/200"
    assert tail.data == MP4[150:200]


# ---- read errors on playback ----------------------------------------------------------

def test_a_file_gone_from_storage_is_a_clean_404_page_not_damage(
        client, users, booking, api_headers, login_as, backend, caplog):
    key = stored_key(backend, MP4)
    recording_id = register(client, users, booking, api_headers, key, len(MP4)).get_json()["id"]
    stream = watch(client, login_as, users["patient"], recording_id)
    backend.delete(key)
    response = get_whole(client, stream)
    assert response.status_code == 404 and "missing from storage" in response.text
    assert "<!doctype html>" in response.text.lower() and "damaged" not in response.text
    assert "failed authentication" not in caplog.text


def test_a_storage_path_turned_into_a_folder_is_a_clean_404_page(
        app, client, users, booking, api_headers, login_as):
    storage = get_storage()
    key = stored_key(storage, MP4)
    recording_id = register(client, users, booking, api_headers, key, len(MP4)).get_json()["id"]
    stream = watch(client, login_as, users["patient"], recording_id)
    path = storage.local_path(key)
    path.unlink()
    path.mkdir()
    try:
        response = get_whole(client, stream)
    finally:
        path.rmdir()
    assert response.status_code == 404 and "names a folder" in response.text


@pytest.mark.parametrize("error", [PermissionError("denied"), StorageUnavailable("throttled")])
def test_any_other_read_error_is_a_clean_503_page(
        client, users, booking, api_headers, login_as, monkeypatch, error):
    recording = attach(users, booking)
    with clock.frozen(NOW):
        stream = watch(client, login_as, users["patient"], recording.id)

        def failing(*_args, **_kwargs):
            raise error

        monkeypatch.setattr(type(get_storage()), "read_range", failing)
        response = get_whole(client, stream)
    assert response.status_code == 503 and "storage cannot be reached" in response.text
    assert "damaged" not in response.text


def test_a_chunk_failing_its_tag_is_reported_as_damaged(app, client, users, booking, login_as, caplog):
    recording = attach(users, booking)
    path = get_storage().local_path(recording.storage_path)
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF  # inside the first chunk's ciphertext
    path.write_bytes(bytes(data))
    with clock.frozen(NOW):
        response = get_whole(client, watch(client, login_as, users["patient"], recording.id))
    assert response.status_code == 500 and "damaged" in response.text
    assert "failed authentication" in caplog.text


# ---- Range headers --------------------------------------------------------------------

def test_several_ranges_are_answered_with_the_whole_file(client, users, booking, login_as):
    recording = attach(users, booking)
    with clock.frozen(NOW):
        stream = watch(client, login_as, users["patient"], recording.id)
        several = get_whole(client, stream, Range="bytes=0-9, 100-109")
        unsatisfiable = get_whole(client, stream, Range=f"bytes={len(MP4) + 10}-")
    assert several.status_code == 200 and several.data == MP4 and "Content-Range" not in several.headers
    assert unsatisfiable.status_code == 416 and unsatisfiable.headers["Content-Range"] == f"bytes */{len(MP4)}"


# ---- the API's stream answers the same, in JSON -----------------------------------------

def test_the_api_stream_follows_the_same_rules_in_json(client, users, booking, api_headers):
    recording = attach(users, booking, expires_at=NOW + timedelta(minutes=5))
    headers = api_headers(users["patient"])
    with clock.frozen(NOW):
        stream = open_link(client, signed_path(client, headers, recording), headers)
        several = get_whole(client, stream, Authorization=headers["Authorization"], Range="bytes=0-9, 20-29")
        assert several.status_code == 200 and several.data == MP4
    with clock.frozen(NOW + timedelta(minutes=5)):
        expired = get_whole(client, stream, Authorization=headers["Authorization"])
    assert expired.status_code == 404 and expired.get_json()["error"] == "NOT_FOUND"
    assert "expired" in expired.get_json()["message"]


def test_the_api_stream_answers_a_missing_file_in_json(client, users, booking, api_headers):
    storage = get_storage()
    key = stored_key(storage, MP4)
    recording_id = register(client, users, booking, api_headers, key, len(MP4)).get_json()["id"]
    headers = api_headers(users["patient"])
    stream = open_link(client, signed_path(client, headers, SimpleNamespace(id=recording_id)), headers)
    storage.delete(key)
    missing = get_whole(client, stream, Authorization=headers["Authorization"])
    assert missing.status_code == 404 and "missing from storage" in missing.get_json()["message"]
