"""Clients written against the spec's tables work unchanged: provider_id on notes,
recordings registered by their columns, homework_completion, INVALID_REQUEST."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, MeetingRecording, SessionNote

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def booking(users, make_booking, consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    return make_booking(users["patient"], users["specialist"], NOW - timedelta(days=1))


def notes_of(booking) -> list[SessionNote]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SessionNote).where(SessionNote.booking_id == booking.id)))


# ---------- POST /api/v1/session-notes with provider_id ----------

def test_a_note_with_the_bookings_specialist_as_provider_id_is_written(client, users, booking, api_headers):
    response = client.post("/api/v1/session-notes", headers=api_headers(users["specialist"]), json={
        "booking_id": str(booking.id), "provider_id": str(users["specialist"].id), "notes": "Went well",
        "metadata": {"homework_completion": True}})
    assert response.status_code == 201, response.json
    assert response.json["provider_id"] == str(users["specialist"].id)
    assert response.json["metadata"] == {"homework_completion": True}


@pytest.mark.parametrize("provider, author, status", [
    ("other_specialist", "specialist", 400),   # not the booking's specialist
    ("patient", "specialist", 400),
    ("specialist", "admin", 403),              # the booking's specialist, but someone else writes
])
def test_a_provider_id_that_is_not_the_writing_specialist_is_refused(client, users, booking, api_headers,
                                                                     provider, author, status):
    response = client.post("/api/v1/session-notes", headers=api_headers(users[author]), json={
        "booking_id": str(booking.id), "provider_id": str(users[provider].id), "notes": "x"})
    assert response.status_code == status
    assert response.json["error"] == ("INVALID_REQUEST" if status == 400 else "FORBIDDEN")
    if status == 400:
        assert "provider_id" in response.json["fields"]
    assert notes_of(booking) == []


def test_a_malformed_provider_id_is_invalid_request(client, users, booking, api_headers):
    response = client.post("/api/v1/session-notes", headers=api_headers(users["specialist"]), json={
        "booking_id": str(booking.id), "provider_id": "nobody", "notes": "x"})
    assert response.status_code == 400 and response.json["error"] == "INVALID_REQUEST"
    assert "provider_id" in response.json["fields"]


# ---------- homework_completion ----------

def test_the_old_homework_key_is_stored_under_the_specs_name(client, users, booking, api_headers):
    response = client.post("/api/v1/session-notes", headers=api_headers(users["specialist"]), json={
        "booking_id": str(booking.id), "notes": "x", "metadata": {"homework_completed": "no"}})
    assert response.status_code == 201
    [note] = notes_of(booking)
    assert note.metadata_ == {"homework_completion": False}


def test_the_note_form_writes_homework_completion(client, users, booking, login_as):
    login_as(users["specialist"])
    response = client.post(f"/bookings/{booking.id}/notes", data={"notes": "Fine", "homework_completion": "yes"})
    assert response.status_code == 302
    [note] = notes_of(booking)
    assert note.metadata_ == {"homework_completion": True}
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Homework</span> Done" in page


# ---------- every validation error is INVALID_REQUEST ----------

@pytest.mark.parametrize("path, body", [
    ("/api/v1/session-notes", {"notes": "", "metadata": {"mood_level": 99}}),
    ("/api/v1/booking-packages", {"name": "", "session_count": 0, "price": "-1", "currency": "x"}),
])
def test_notes_and_packages_answer_invalid_request(client, users, booking, api_headers, path, body):
    if "notes" in path:
        body = {**body, "booking_id": str(booking.id)}
    response = client.post(path, headers=api_headers(users["specialist"]), json=body)
    assert response.status_code == 400
    assert response.json["error"] == "INVALID_REQUEST" and response.json["fields"]


def test_the_api_never_answers_validation_error(client):
    document = client.get("/api/v1/openapi.json").get_data(as_text=True)
    assert "VALIDATION_ERROR" not in document


# ---------- a recording already stored elsewhere ----------

COLUMNS = {"storage_path": "imported/2030-05/session-42.mp4", "file_format": "mp4", "duration_seconds": 3000,
           "storage_size_bytes": 4096, "expires_at": "2030-08-01T00:00:00+00:00"}


@pytest.fixture
def stored_file(app):
    """The file the registration names, in the local recordings storage."""
    path = Path(app.config["RECORDINGS_DIR"]) / COLUMNS["storage_path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * COLUMNS["storage_size_bytes"])
    yield path
    path.unlink(missing_ok=True)


def test_an_admin_registers_a_recording_by_the_specs_columns(client, users, booking, api_headers, stored_file):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           json={"booking_id": str(booking.id), **COLUMNS})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["booking_id"] == str(booking.id) and body["file_format"] == "mp4"
    assert body["storage_size_bytes"] == 4096 and body["duration_seconds"] == 3000
    assert body["expires_at"] == "2030-08-01T00:00:00+00:00" and body["is_encrypted"] is False
    row = db.session.get(MeetingRecording, uuid.UUID(body["id"]))
    assert row.storage_path == COLUMNS["storage_path"]
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "recording_registered"))
    assert audit.actor_id == users["admin"].id and "storage_path" not in audit.new_values
    listed = client.get("/api/v1/meeting-recordings", headers=api_headers(users["patient"])).json
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    again = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                        json={"booking_id": str(booking.id), **COLUMNS})
    assert again.status_code == 409 and again.json["error"] == "CONFLICT"


@pytest.mark.parametrize("who, status", [("specialist", 403), ("patient", 403), ("other_patient", 404)])
def test_only_admins_register(client, users, booking, api_headers, who, status):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users[who]),
                           json={"booking_id": str(booking.id), **COLUMNS})
    assert response.status_code == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRecording)) == 0


@pytest.mark.parametrize("change, field", [
    ({"storage_path": "../../etc/passwd"}, "storage_path"), ({"storage_path": "/abs/file.mp4"}, "storage_path"),
    ({"storage_path": ""}, "storage_path"), ({"file_format": "avi"}, "file_format"),
    ({"storage_size_bytes": -1}, "storage_size_bytes"), ({"storage_size_bytes": "12"}, "storage_size_bytes"),
    ({"duration_seconds": -5}, "duration_seconds"), ({"expires_at": "2030-08-01T00:00:00"}, "expires_at"),
    ({"booking_id": "nope"}, "booking_id"),
])
def test_bad_columns_are_invalid_request_and_change_nothing(client, users, booking, api_headers, change, field):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           json={"booking_id": str(booking.id), **COLUMNS, **change})
    assert response.status_code == 400, response.json
    assert response.json["error"] == "INVALID_REQUEST" and field in response.json["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRecording)) == 0


def test_the_openapi_document_offers_both_bodies(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/meeting-recordings"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
