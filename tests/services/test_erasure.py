"""Erasure: a patient asks, an admin refuses (with a reason the patient sees) or carries it out:
every item the patient is owed, stored objects gone on the local and S3 backends after the
commit, clinical notes kept without the identity until the retention job deletes them."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import (
    ApiToken,
    AuditLog,
    Booking,
    BookingCancellation,
    Consent,
    ErasureRequest,
    IntakeResponse,
    MeetingRecording,
    Outbox,
    RecordAccess,
    RecurringBooking,
    SessionNote,
    User,
)
from portal.services.audit import audit_record
from portal.services.erasure import erasure_carry_out, erasure_request_create
from portal.services.mail_files import mail_folder
from portal.services.notes import note_create
from portal.services.recordings.storage import get_storage
from portal.services.recordings.upload import recording_attach
from portal.services.retention import clinical_records_expire
from tests.conftest import DEFAULT_PASSWORD
from tests.services.recordings.test_storage import s3_bucket, s3_server  # noqa: F401 -- fixtures

NOW = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
ASK = "/api/v1/me/erasure-request"


def requests_of(user) -> list[ErasureRequest]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ErasureRequest).where(ErasureRequest.patient_id == user.id)))


# ---- asking, refusing ---------------------------------------------------------------------

def test_a_patient_asks_once_and_sees_it_waiting(client, users, api_headers, login_as):
    headers = api_headers(users["patient"])
    asked = client.post(ASK, headers=headers)
    assert asked.status_code == 201 and asked.get_json()["status"] == "pending"
    assert asked.get_json()["id"] == str(requests_of(users["patient"])[0].id)
    again = client.post(ASK, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "ERASURE_PENDING"
    assert len(requests_of(users["patient"])) == 1
    login_as(users["patient"])
    assert "The clinic has not answered yet" in client.get("/account/data").text


def test_the_page_asks_only_with_the_box_ticked(client, users, login_as):
    login_as(users["patient"])
    refused = client.post("/account/erasure", data={})
    assert refused.status_code == 422 and "Tick the box to confirm." in refused.text
    assert requests_of(users["patient"]) == []
    asked = client.post("/account/erasure", data={"confirm": "y"})
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/account/data#erasure")
    assert [r.status for r in requests_of(users["patient"])] == ["pending"]


@pytest.mark.parametrize("role", ["specialist", "admin", "ops"])
def test_staff_cannot_ask_to_be_erased(client, users, api_headers, role):
    answer = client.post(ASK, headers=api_headers(users[role]))
    assert answer.status_code == 403
    assert requests_of(users[role]) == []


def test_a_refusal_gives_the_patient_its_reason(client, users, api_headers, login_as):
    request_id = client.post(ASK, headers=api_headers(users["patient"])).get_json()["id"]
    admin = api_headers(users["admin"])
    path = f"/api/v1/erasure-requests/{request_id}/refuse"
    for bad in ({}, {"reason": "   "}, {"reason": "x" * 1001}):
        answer = client.post(path, headers=admin, json=bad)
        assert answer.status_code in (400, 422), bad
    assert requests_of(users["patient"])[0].status == "pending"
    for role in ("patient", "specialist", "ops"):
        assert client.post(path, headers=api_headers(users[role]), json={"reason": "no"}).status_code in (403, 404)
    reason = "We must keep your invoices until the insurance audit closes in June."
    refused = client.post(path, headers=admin, json={"reason": reason})
    assert refused.status_code == 200 and refused.get_json()["status"] == "refused"
    assert client.post(path, headers=admin, json={"reason": reason}).get_json()["error"] == "ERASURE_DECIDED"
    mine = client.get("/api/v1/me/erasure-requests", headers=api_headers(users["patient"])).get_json()
    assert [(r["status"], r["refusal_reason"]) for r in mine] == [("refused", reason)]
    login_as(users["patient"])
    page = client.get("/account/data").text
    assert "The clinic refused your request" in page and reason in page
    assert "Ask the clinic to erase my account" in page  # they may ask again
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "erasure_refused"))
    assert reason not in json.dumps(audit.new_values)


def test_the_admin_page_refuses_with_a_reason_and_says_staff_are_never_erased(client, users, login_as):
    with clock.frozen(NOW):
        request = erasure_request_create(actor=users["patient"])
        db.session.commit()
    login_as(users["admin"])
    page = client.get("/admin/erasure-requests").text
    assert "Pat One" in page and "never erased" in page
    empty = client.post(f"/admin/erasure-requests/{request.id}/refuse", data={"reason": ""})
    assert empty.status_code == 422 and "Write the reason the patient will read." in empty.text
    done = client.post(f"/admin/erasure-requests/{request.id}/refuse", data={"reason": "Unpaid invoice."})
    assert done.status_code == 302
    assert requests_of(users["patient"])[0].refusal_reason == "Unpaid invoice."


# ---- carrying it out ----------------------------------------------------------------------

@pytest.fixture(params=["local", "s3"])
def backend(request, app, monkeypatch):
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        monkeypatch.setitem(app.config, "RECORDINGS_STORAGE", f"s3://{bucket}/clinic")
    return get_storage()


@pytest.fixture
def patient_record(users, make_booking, backend, consent_to_recording):
    """The patient's past session (a note, a recording, an access row), a session to come in a
    series, a token, stored mails (one sent and kept as a file, one waiting) and audit rows."""
    patient, specialist, admin = users["patient"], users["specialist"], users["admin"]
    consent_to_recording(patient, specialist)
    db.session.add(IntakeResponse(patient_id=patient.id, specialist_id=specialist.id, answers={"q1": "Pat's story"}))
    past = make_booking(patient, specialist, NOW - timedelta(days=3))
    series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                              start_date=(NOW + timedelta(days=4)).date(), time_of_day=time(10))
    db.session.add(series)
    db.session.flush()
    future = make_booking(patient, specialist, NOW + timedelta(days=4), recurring_booking_id=series.id)
    with clock.frozen(NOW - timedelta(days=3, hours=-2)):
        note = note_create(actor=specialist, booking_id=past.id, data={"notes": "Kept for the law."})
        recording = recording_attach(actor=admin, booking_id=past.id, filename="s.mp4", stream=io.BytesIO(MP4))
    token = ApiToken(user_id=patient.id, token_hash="a" * 64, name="phone")
    kept = Outbox(recipient_id=patient.id, template="booking_confirmed", about={}, dedup_key="t:kept",
                  status="kept", subject="Your session", body_text="Dear Pat One", sent_to=patient.email)
    waiting = Outbox(recipient_id=patient.id, template="booking_reminder", about={}, dedup_key="t:waiting")
    db.session.add_all([token, kept, waiting])
    db.session.flush()
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True)
    mail_file = folder / f"20300501T100000-{kept.id}.eml"
    mail_file.write_text(f"To: {patient.email}\n\nDear Pat One")
    audit_record(actor=patient, action="account_updated", entity_type="user", entity_id=patient.id,
                 old_values={"display_name": "Pat One"}, new_values={"email": patient.email})
    db.session.add(RecordAccess(patient_id=patient.id, reader_id=specialist.id, reader_role="specialist",
                                record_type="session_note", record_id=note.id, booking_id=past.id,
                                accessed_at=NOW, accessed_hour=NOW))
    db.session.commit()
    return {"past": past, "future": future, "series": series, "note": note, "recording": recording,
            "mail_file": mail_file, "kept": kept, "waiting": waiting, "email": patient.email}


def carry_out(client, users, api_headers):
    with clock.frozen(NOW):
        request = erasure_request_create(actor=users["patient"])
        db.session.commit()
        answer = client.post(f"/api/v1/erasure-requests/{request.id}/carry-out", headers=api_headers(users["admin"]))
    assert answer.status_code == 200, answer.text
    db.session.expire_all()
    return answer.get_json()


def test_carrying_out_erases_every_item(client, users, patient_record, backend, api_headers):
    record, patient = patient_record, users["patient"]
    patient_headers = api_headers(patient)
    key = record["recording"].storage_path
    assert backend.exists(key)
    done = carry_out(client, users, api_headers)
    assert done["status"] == "carried_out" and done["objects_deleted"] == 1 and done["storage_errors"] == 0
    erased = db.session.get(User, patient.id)
    # name and e-mail replaced, sign-in impossible, sessions and tokens revoked
    assert erased.display_name == f"Former patient #{patient.id.hex[:8]}"
    assert erased.email.endswith(".invalid") and erased.email_normalized == erased.email
    assert not erased.is_active and erased.session_version > 1
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == patient.id)) is not None
    assert client.get("/api/v1/me", headers=patient_headers).status_code == 401
    assert client.post("/login", data={"email": record["email"], "password": DEFAULT_PASSWORD}).status_code == 400
    # the session to come cancelled by the clinic (the admin), the specialist told; the series ended
    future = db.session.get(Booking, record["future"].id)
    assert future.status == "cancelled"
    assert db.session.scalar(sa.select(BookingCancellation.cancelled_by).where(
        BookingCancellation.booking_id == future.id)) == users["admin"].id
    assert db.session.scalar(sa.select(Outbox.status).where(
        Outbox.recipient_id == users["specialist"].id, Outbox.template == "booking_cancelled")) == "pending"
    assert db.session.get(RecurringBooking, record["series"].id).is_active is False
    # recordings and their stored objects gone, on this backend
    assert db.session.get(MeetingRecording, record["recording"].id) is None
    assert not backend.exists(key)
    # the consent to recording (the fixture's) and any intake answers gone
    assert db.session.scalars(sa.select(Consent).where(Consent.patient_id == patient.id)).all() == []
    assert db.session.scalars(sa.select(IntakeResponse).where(IntakeResponse.patient_id == patient.id)).all() == []
    # stored mails emptied, the waiting ones (the cancellation notice too) dropped, the mail file gone
    mails = db.session.scalars(sa.select(Outbox).where(Outbox.recipient_id == patient.id)).all()
    assert {(m.subject, m.body_text, m.body_html, m.sent_to) for m in mails} == {(None, None, None, None)}
    assert {m.status for m in mails} <= {"kept", "dropped"}
    assert not record["mail_file"].exists()
    # clinical notes and the booking history stay, the note still authored
    note = db.session.get(SessionNote, record["note"].id)
    assert note is not None and note.provider_id == users["specialist"].id
    assert db.session.get(Booking, record["past"].id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecordAccess)) == 1
    # audit rows keep ids and actions, never the erased name or e-mail
    trail = json.dumps([[r.old_values, r.new_values] for r in db.session.scalars(sa.select(AuditLog))])
    assert record["email"] not in trail and "Pat One" not in trail
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "erasure_carried_out")).entity_id == str(
        patient.id)


def test_a_rolled_back_erasure_keeps_the_stored_objects(app, users, patient_record, backend):
    key = patient_record["recording"].storage_path
    with clock.frozen(NOW):
        request = erasure_request_create(actor=users["patient"])
        db.session.commit()
        erasure_carry_out(actor=users["admin"], request_id=request.id)
    db.session.rollback()
    assert backend.exists(key)
    assert db.session.get(User, users["patient"].id).display_name == "Pat One"


def test_staff_accounts_are_never_erased(client, users, api_headers):
    with clock.frozen(NOW):
        request = erasure_request_create(actor=users["patient"])
        users["patient"].role = "specialist"  # became staff since asking
        db.session.commit()
    answer = client.post(f"/api/v1/erasure-requests/{request.id}/carry-out", headers=api_headers(users["admin"]))
    assert answer.status_code == 403 and answer.get_json()["error"] == "STAFF_NOT_ERASED"
    assert requests_of(users["patient"])[0].status == "pending"
    assert db.session.get(User, users["patient"].id).is_active


def test_the_admin_page_carries_it_out(client, users, login_as):
    with clock.frozen(NOW):
        request = erasure_request_create(actor=users["patient"])
        db.session.commit()
    login_as(users["admin"])
    done = client.post(f"/admin/erasure-requests/{request.id}/carry-out")
    assert done.status_code == 302
    page = client.get("/admin/erasure-requests").text
    assert "Erased" in page and f"Former patient #{users['patient'].id.hex[:8]}" in page
    again = client.post(f"/admin/erasure-requests/{request.id}/carry-out")
    assert again.status_code == 422 and "already carried out" in again.text


# ---- retention --------------------------------------------------------------------------------

def test_the_retention_job_deletes_the_kept_records_after_the_years(client, app, users, patient_record, backend,
                                                                   api_headers, runner):
    note_id = patient_record["note"].id
    carry_out(client, users, api_headers)
    last = patient_record["past"].ends_at  # the last session held: the one to come was cancelled
    years = app.config["CLINICAL_RECORD_RETENTION_YEARS"]
    with clock.frozen(last.replace(year=last.year + years) - timedelta(minutes=1)):
        assert clinical_records_expire() == {"checked": 1, "deleted": 0, "errors": 0}
    assert db.session.get(SessionNote, note_id) is not None
    with clock.frozen(last.replace(year=last.year + years)):
        output = runner.invoke(args=["expire-clinical-records"])
    assert output.exit_code == 0 and "records deleted: 1" in output.output
    db.session.expire_all()
    patient_id = users["patient"].id
    assert db.session.get(SessionNote, note_id) is None
    assert db.session.scalars(sa.select(Booking).where(Booking.patient_id == patient_id)).all() == []
    assert db.session.scalars(sa.select(RecordAccess).where(RecordAccess.patient_id == patient_id)).all() == []
    assert requests_of(users["patient"])[0].records_deleted_at is not None
    assert db.session.get(User, patient_id) is not None  # the anonymised row stays for the audit trail's ids
    with clock.frozen(last.replace(year=last.year + years + 1)):
        assert clinical_records_expire() == {"checked": 0, "deleted": 0, "errors": 0}


def test_the_retention_job_runs_from_the_schedule(app, users, make_booking):
    from portal.jobs.tasks import expire_clinical_records_job

    assert expire_clinical_records_job() == {"checked": 0, "deleted": 0, "errors": 0}
