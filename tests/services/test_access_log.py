"""The access log: every read of a session note or a recording by someone other than the patient
(page, API, stream start; a list counts each record it shows) writes one row per reader, record
and hour, in the read's own transaction; the patient reads theirs, admins everyone's."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, RecordAccess
from portal.services.access_log import record_access, write_access_rows
from portal.services.notes import note_create
from portal.services.recordings.upload import recording_attach

NOW = datetime(2030, 5, 6, 10, 5, tzinfo=UTC)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40


@pytest.fixture
def booking(users, make_booking, consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    return make_booking(users["patient"], users["specialist"], NOW - timedelta(days=1))


@pytest.fixture
def note(users, booking):
    with clock.frozen(NOW - timedelta(hours=20)):
        return note_create(actor=users["specialist"], booking_id=booking.id,
                           data={"notes": "Talked about sleep and work."})


@pytest.fixture
def recording(users, booking):
    with clock.frozen(NOW - timedelta(hours=20)):
        return recording_attach(actor=users["admin"], booking_id=booking.id, filename="s.mp4",
                                stream=io.BytesIO(MP4))


def access_rows(**where) -> list[RecordAccess]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(RecordAccess).filter_by(**where).order_by(RecordAccess.accessed_at)))


def test_the_specialist_opening_the_booking_page_logs_each_note_and_recording_once_an_hour(
        client, users, booking, note, recording, login_as):
    login_as(users["specialist"])
    with clock.frozen(NOW):
        assert client.get(f"/bookings/{booking.id}").status_code == 200
    rows = access_rows(reader_id=users["specialist"].id)
    assert sorted((r.record_type, r.record_id) for r in rows) == sorted(
        [("session_note", note.id), ("meeting_recording", recording.id)])
    assert {(r.patient_id, r.reader_role, r.booking_id, r.accessed_at) for r in rows} == {
        (users["patient"].id, "specialist", booking.id, NOW)}
    with clock.frozen(NOW + timedelta(minutes=50)):  # the same hour: nothing new
        client.get(f"/bookings/{booking.id}")
        client.get(f"/bookings/{booking.id}/notes", headers={"HX-Request": "true"})
    assert len(access_rows(reader_id=users["specialist"].id)) == 2
    with clock.frozen(NOW + timedelta(minutes=56)):  # the next hour
        client.get(f"/bookings/{booking.id}")
    assert len(access_rows(reader_id=users["specialist"].id)) == 4


def test_the_patient_reading_their_own_record_writes_nothing(client, users, booking, note, recording, login_as,
                                                           api_headers):
    login_as(users["patient"])
    assert client.get(f"/bookings/{booking.id}").status_code == 200
    headers = api_headers(users["patient"])
    assert client.get(f"/api/v1/session-notes/{note.id}", headers=headers).status_code == 200
    assert client.get("/api/v1/meeting-recordings", headers=headers).status_code == 200
    assert access_rows() == []


def test_api_reads_and_lists_count_each_record_they_show(client, users, booking, note, recording, api_headers):
    headers = api_headers(users["admin"])
    with clock.frozen(NOW):
        assert client.get("/api/v1/session-notes", headers=headers).get_json()["total"] == 1
        assert client.get("/api/v1/meeting-recordings", headers=headers).status_code == 200
        assert client.get(f"/api/v1/session-notes/{note.id}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/session-notes/{note.id}/amendments", headers=headers).status_code == 200
        assert client.get(f"/api/v1/meeting-recordings/{recording.id}", headers=headers).status_code == 200
    rows = access_rows(reader_id=users["admin"].id)
    assert sorted(r.record_type for r in rows) == ["meeting_recording", "session_note"]
    assert {r.reader_role for r in rows} == {"admin"}


def test_the_specialists_notes_page_logs_each_note_it_lists(client, users, note, login_as):
    login_as(users["specialist"])
    assert client.get("/specialist/notes").status_code == 200
    assert [(r.record_type, r.record_id) for r in access_rows()] == [("session_note", note.id)]


def test_watching_logs_the_recording_with_its_audit_in_one_transaction(client, users, recording, login_as):
    login_as(users["admin"])
    with clock.frozen(NOW):
        watched = client.get(f"/bookings/recordings/{recording.id}/watch")
        assert watched.status_code == 302
        with client.get(watched.headers["Location"]) as stream:  # the stream start, from byte 0
            assert stream.status_code == 200
            stream.get_data()
    audited = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.entity_id == str(recording.id))).all()
    assert {"recording_link_created", "recording_stream_started"} <= set(audited)
    assert [(r.record_type, r.reader_role) for r in access_rows()] == [("meeting_recording", "admin")]


def test_a_read_that_fails_writes_no_access_row(client, users, note, api_headers):
    headers = api_headers(users["other_specialist"])
    assert client.get(f"/api/v1/session-notes/{note.id}", headers=headers).status_code == 404
    assert access_rows() == []


def test_two_writers_of_the_same_hour_leave_one_row(app, users, note):
    with clock.frozen(NOW):
        row = {"patient_id": users["patient"].id, "reader_id": users["admin"].id, "reader_role": "admin",
               "record_type": "session_note", "record_id": note.id, "booking_id": note.booking_id,
               "accessed_at": NOW, "accessed_hour": NOW.replace(minute=0)}
        write_access_rows([{**row, "id": uuid.uuid4()}])
        write_access_rows([{**row, "id": uuid.uuid4()}])  # as a concurrent read would, past the look-up
        assert record_access(users["admin"], note) == 0
    assert len(access_rows()) == 1


def test_the_patient_sees_who_looked_and_admins_see_it_per_patient(client, users, booking, note, login_as,
                                                                  api_headers):
    with clock.frozen(NOW):
        login_as(users["specialist"])
        client.get(f"/bookings/{booking.id}")
    login_as(users["patient"])
    page = client.get("/account/access-log")
    assert page.status_code == 200
    assert "Spec One" in page.text and "(specialist)" in page.text and "Session note" in page.text
    listed = client.get("/api/v1/me/access-log", headers=api_headers(users["patient"])).get_json()
    assert [(i["reader"], i["reader_role"], i["record_type"], i["record_id"]) for i in listed["items"]] == [
        ("Spec One", "specialist", "session_note", str(note.id))]
    login_as(users["other_patient"])
    assert client.get("/api/v1/me/access-log").get_json()["items"] == []
    admin = api_headers(users["admin"])
    client.post("/logout")
    per_patient = client.get(f"/api/v1/patients/{users['patient'].id}/access-log", headers=admin).get_json()
    assert per_patient["total"] == 1
    login_as(users["admin"])
    assert "Spec One" in client.get(f"/admin/users/{users['patient'].id}/access-log").text
    client.post("/logout")
    for role in ("specialist", "ops"):
        assert client.get(f"/api/v1/patients/{users['patient'].id}/access-log",
                          headers=api_headers(users[role])).status_code == 403


def test_access_rows_cannot_be_changed_through_any_route(client, users, booking, note, login_as, api_headers):
    with clock.frozen(NOW):
        login_as(users["specialist"])
        client.get(f"/bookings/{booking.id}")
    headers = api_headers(users["admin"])
    for method in ("delete", "patch", "put"):
        answer = getattr(client, method)("/api/v1/me/access-log", headers=headers)
        assert answer.status_code in (404, 405)
    assert len(access_rows()) == 1
