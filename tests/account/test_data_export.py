"""Download my data: one JSON document of the patient's own record (API and page), audited, with
no other person's data and nothing private of a specialist."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, AvailabilityException
from portal.selectors.export import EXPORT_SECTIONS
from portal.services.cancellations import booking_cancel
from portal.services.notes import amendment_add, note_create
from portal.services.recordings.upload import recording_attach

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
MINE = "Patient slept better this week."
THEIRS = "Other patient: confidential history of migraines."


@pytest.fixture
def record(users, make_booking, consent_to_recording):
    """The patient's past session with a note, an amendment and a recording, a cancelled future one,
    and the same specialist's session and note with another patient; the specialist's away reason."""
    patient, specialist = users["patient"], users["specialist"]
    consent_to_recording(patient, specialist)
    past = make_booking(patient, specialist, NOW - timedelta(days=2))
    future = make_booking(patient, specialist, NOW + timedelta(days=5))
    theirs = make_booking(users["other_patient"], specialist, NOW - timedelta(days=3))
    with clock.frozen(NOW - timedelta(days=2, hours=-2)):
        note = note_create(actor=specialist, booking_id=past.id, data={"notes": MINE, "metadata": {"mood_level": 7}})
        amendment_add(actor=specialist, note_id=note.id, text="Also: walks daily.")
        note_create(actor=specialist, booking_id=theirs.id, data={"notes": THEIRS})
        recording = recording_attach(actor=users["admin"], booking_id=past.id, filename="s.mp4",
                                     stream=io.BytesIO(MP4))
    with clock.frozen(NOW):
        booking_cancel(actor=patient, booking_id=future.id, reason="Travelling for work")
    db.session.add(AvailabilityException(specialist_id=specialist.id, reason="sick_leave",
                                         exception_date=(NOW + timedelta(days=9)).date()))
    db.session.commit()
    return {"past": past, "future": future, "theirs": theirs, "note": note, "recording": recording}


def test_the_api_answers_the_whole_document_of_the_patients_own_record(client, users, record, api_headers):
    with clock.frozen(NOW):
        answer = client.get("/api/v1/me/export", headers=api_headers(users["patient"]))
    assert answer.status_code == 200
    document = answer.get_json()
    assert set(document) == {"format", "generated_at", *(key for key, _ in EXPORT_SECTIONS)}
    assert document["profile"]["email"] == users["patient"].email
    bookings = {b["id"]: b for b in document["bookings"]}
    assert set(bookings) == {str(record["past"].id), str(record["future"].id)}
    cancelled = bookings[str(record["future"].id)]
    assert cancelled["cancellation"]["reason"] == "Travelling for work"
    assert cancelled["cancellation"]["cancelled_by"] == "you"
    assert [(h["from"], h["to"]) for h in cancelled["status_history"]] == [(None, "confirmed"),
                                                                          ("confirmed", "cancelled")]
    [note] = document["session_notes"]
    assert note["notes"] == MINE and note["details"] == {"mood_level": 7} and note["written_by"] == "Spec One"
    assert [a["text"] for a in note["amendments"]] == ["Also: walks daily."]
    [recording] = document["recordings"]
    assert recording["id"] == str(record["recording"].id) and recording["file_format"] == "mp4"
    assert "storage_path" not in recording
    assert document["consents"] == [{"kind": "recording", "specialist": "Spec One", "terms_version": None,
                                     "given_at": document["consents"][0]["given_at"], "withdrawn_at": None}]
    assert document["intake_answers"] == []


def test_no_other_persons_data_and_nothing_private_of_a_specialist(client, users, record, api_headers):
    text = client.get("/api/v1/me/export", headers=api_headers(users["patient"])).get_data(as_text=True)
    for private in (THEIRS, str(record["theirs"].id), users["other_patient"].email, users["other_patient"].display_name,
                    users["specialist"].email, "sick_leave", record["recording"].storage_path):
        assert private not in text, private
    assert "Spec One" in text  # the specialist by name only


def test_the_export_lists_who_read_the_record(client, users, record, login_as, api_headers):
    with clock.frozen(NOW):
        login_as(users["specialist"])
        client.get(f"/bookings/{record['past'].id}")
    client.post("/logout")
    document = client.get("/api/v1/me/export", headers=api_headers(users["patient"])).get_json()
    assert {(row["reader"], row["record_type"]) for row in document["access_log"]} == {
        ("Spec One", "session_note"), ("Spec One", "meeting_recording")}


def test_the_page_downloads_the_same_document_as_a_file_and_both_are_audited(client, users, record, login_as):
    login_as(users["patient"])
    page = client.get("/account/data")
    assert page.status_code == 200 and "Download my data" in page.text
    download = client.get("/account/data/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="my-clinic-data-')
    assert json.loads(download.data)["session_notes"][0]["notes"] == MINE
    client.get("/api/v1/me/export")
    audited = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "data_exported")).all()
    assert len(audited) == 2 and {row.entity_id for row in audited} == {str(users["patient"].id)}
    assert MINE not in json.dumps([row.new_values for row in audited])


@pytest.mark.parametrize("role", ["specialist", "admin", "ops"])
def test_the_export_is_for_patients(client, users, api_headers, login_as, role):
    assert client.get("/api/v1/me/export", headers=api_headers(users[role])).status_code == 403
    login_as(users[role])
    assert client.get("/account/data").status_code == 403
    assert client.get("/account/data/download").status_code == 403
