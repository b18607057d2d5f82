"""Session notes (spec section 4): access for every role, the 24-hour lock, amendments,
and that note text never reaches the audit trail or the logs."""
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, SessionNote, SessionNoteAmendment
from portal.services.notes import amendment_add, note_create

WRITTEN = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)
SECRET = "Patient disclosed a panic attack on the train"
BODY = {"notes": SECRET, "follow_up_actions": "Breathing exercise daily",
        "next_session_recommendation": "Weekly", "metadata": {"mood_level": 6, "engagement": "high",
                                                              "homework_completion": True, "sleep": "better"}}


@pytest.fixture
def booking(users, make_booking):
    return make_booking(users["patient"], users["specialist"], WRITTEN - timedelta(hours=2))


@pytest.fixture
def note(users, booking):
    with clock.frozen(WRITTEN):
        return note_create(actor=users["specialist"], booking_id=booking.id, data=BODY)


def count(model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("role, status", [
    ("specialist", 200), ("patient", 200), ("admin", 200),
    ("other_specialist", 404), ("other_patient", 404), ("ops", 404),
])
def test_who_reads_a_note(client, users, note, api_headers, role, status):
    response = client.get(f"/api/v1/session-notes/{note.id}", headers=api_headers(users[role]))
    assert response.status_code == status
    listed = client.get("/api/v1/session-notes", headers=api_headers(users[role])).get_json()
    assert [item["id"] for item in listed["items"]] == ([str(note.id)] if status == 200 else [])
    if status == 200:
        assert response.get_json()["metadata"] == {"mood_level": 6, "engagement": "high",
                                                   "homework_completion": True, "sleep": "better"}


@pytest.mark.parametrize("role, status", [
    ("specialist", 201), ("patient", 403), ("admin", 403), ("ops", 404),
    ("other_specialist", 404), ("other_patient", 404),
])
def test_only_the_bookings_specialist_writes_a_note(client, users, booking, api_headers, role, status):
    response = client.post("/api/v1/session-notes", json={"booking_id": str(booking.id), **BODY},
                           headers=api_headers(users[role]))
    assert response.status_code == status
    assert count(SessionNote) == (1 if status == 201 else 0)


@pytest.mark.parametrize("role, status", [
    ("specialist", 200), ("patient", 403), ("admin", 403), ("other_specialist", 404), ("ops", 404),
])
def test_only_the_author_edits_a_note(client, users, note, api_headers, role, status):
    with clock.frozen(WRITTEN + timedelta(hours=1)):
        response = client.patch(f"/api/v1/session-notes/{note.id}", json={"notes": "Changed"},
                                headers=api_headers(users[role]))
    assert response.status_code == status
    db.session.expire_all()
    assert (db.session.get(SessionNote, note.id).notes == "Changed") == (status == 200)


@pytest.mark.parametrize("role, status", [
    ("admin", 204), ("specialist", 403), ("patient", 403), ("other_specialist", 404), ("ops", 404),
])
def test_only_admins_delete_a_note(client, users, note, api_headers, role, status):
    with clock.frozen(WRITTEN):
        amendment_add(actor=users["specialist"], note_id=note.id, text="Addendum")
    response = client.delete(f"/api/v1/session-notes/{note.id}", headers=api_headers(users[role]))
    assert response.status_code == status
    assert count(SessionNote) == (0 if status == 204 else 1)


def test_note_locks_after_24_hours_and_amendments_follow(client, users, note, api_headers):
    headers = api_headers(users["specialist"])
    url = f"/api/v1/session-notes/{note.id}"
    with clock.frozen(WRITTEN + timedelta(hours=23, minutes=59)):
        assert client.patch(url, json={"follow_up_actions": "Edited in time"}, headers=headers).status_code == 200
    with clock.frozen(WRITTEN + timedelta(hours=24)):
        refused = client.patch(url, json={"notes": "Too late"}, headers=headers)
        assert refused.status_code == 409
        assert refused.get_json()["error"] == "NOTE_LOCKED"
        assert "Add an amendment" in refused.get_json()["message"]
        assert client.get(url, headers=headers).get_json()["locked"] is True
        added = client.post(f"{url}/amendments", json={"text": "Correction: the bus"}, headers=headers)
    assert added.status_code == 201
    assert added.get_json()["created_at"].startswith("2030-03-05T12:00:00")
    db.session.expire_all()
    saved = db.session.get(SessionNote, note.id)
    assert (saved.notes, saved.follow_up_actions) == (SECRET, "Edited in time")
    amendments = client.get(f"{url}/amendments", headers=api_headers(users["patient"])).get_json()
    assert [a["text"] for a in amendments] == ["Correction: the bus"]


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("admin", 403), ("other_specialist", 404), ("other_patient", 404),
])
def test_only_the_author_amends(client, users, note, api_headers, role, status):
    response = client.post(f"/api/v1/session-notes/{note.id}/amendments", json={"text": "x"},
                           headers=api_headers(users[role]))
    assert response.status_code == status
    assert count(SessionNoteAmendment) == 0


@pytest.mark.parametrize("change, field", [
    ({"notes": ""}, "notes"), ({"metadata": {"mood_level": 11}}, "mood_level"),
    ({"metadata": {"mood_level": "high"}}, "mood_level"), ({"metadata": {"engagement": "wild"}}, "engagement"),
    ({"metadata": {"homework_completion": "maybe"}}, "homework_completion"), ({"metadata": [1]}, "metadata"),
    ({"notes": 5}, "notes"),
])
def test_invalid_note_is_refused_with_the_field(client, users, booking, api_headers, change, field):
    response = client.post("/api/v1/session-notes", json={"booking_id": str(booking.id), **BODY, **change},
                           headers=api_headers(users["specialist"]))
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert count(SessionNote) == 0


def test_list_filters_and_newest_first(client, users, make_booking, api_headers):
    spec = users["specialist"]
    first = make_booking(users["patient"], spec, WRITTEN - timedelta(days=7))
    second = make_booking(users["other_patient"], spec, WRITTEN - timedelta(days=1))
    with clock.frozen(WRITTEN - timedelta(days=7)):
        old = note_create(actor=spec, booking_id=first.id, data={"notes": "older"})
    with clock.frozen(WRITTEN):
        new = note_create(actor=spec, booking_id=second.id, data={"notes": "newer about sleep"})
    headers = api_headers(spec)
    items = client.get(f"/api/v1/session-notes?provider_id={spec.id}", headers=headers).get_json()["items"]
    assert [i["id"] for i in items] == [str(new.id), str(old.id)]
    by_booking = client.get(f"/api/v1/session-notes?booking_id={first.id}", headers=headers).get_json()
    assert [i["id"] for i in by_booking["items"]] == [str(old.id)]
    assert client.get("/api/v1/session-notes?booking_id=nope", headers=headers).status_code == 400


def test_audit_rows_name_fields_never_text(client, users, note, api_headers, caplog):
    caplog.set_level(logging.DEBUG)
    headers = api_headers(users["specialist"])
    with clock.frozen(WRITTEN + timedelta(hours=1)):
        client.patch(f"/api/v1/session-notes/{note.id}", json={"notes": "Second secret text"}, headers=headers)
        client.post(f"/api/v1/session-notes/{note.id}/amendments", json={"text": "Third secret"}, headers=headers)
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "session_note")).all()
    assert {r.action for r in rows} == {"session_note_created", "session_note_updated", "session_note_amended"}
    dumped = repr([(r.old_values, r.new_values) for r in rows])
    for secret in (SECRET, "Second secret", "Third secret", "Breathing", "panic"):
        assert secret not in dumped
        assert secret not in caplog.text
    updated = next(r for r in rows if r.action == "session_note_updated")
    assert updated.new_values == {"fields": ["notes"]}


def test_booking_page_shows_notes_to_parties_and_admin_only(client, users, note, booking, login_as):
    for role, sees in [("patient", True), ("admin", True), ("specialist", True)]:
        login_as(users[role])
        html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
        assert (SECRET in html) == sees and "Mood" in html
    login_as(users["other_patient"])
    assert client.get(f"/bookings/{booking.id}").status_code == 404


def test_page_write_edit_lock_and_amend(client, users, booking, login_as):
    login_as(users["specialist"])
    htmx = {"HX-Request": "true"}
    with clock.frozen(WRITTEN):
        form = client.get(f"/bookings/{booking.id}/notes?add=1", headers=htmx).get_data(as_text=True)
        assert 'name="notes"' in form
        empty = client.post(f"/bookings/{booking.id}/notes", data={"notes": " "}, headers=htmx)
        assert "Write what happened in the session." in empty.get_data(as_text=True)
        saved = client.post(f"/bookings/{booking.id}/notes", headers=htmx, data={
            "notes": "Calmer today", "mood_level": "7", "engagement": "medium", "homework_completion": "no",
            "extra": "sleep: 6 hours\nnot a pair"})
        html = saved.get_data(as_text=True)
        assert "Calmer today" in html and "7/10" in html and "Not done" in html and "6 hours" in html
        assert "Editable until" in html
    note = db.session.scalar(sa.select(SessionNote))
    assert note.metadata_ == {"sleep": "6 hours", "mood_level": 7, "engagement": "medium",
                              "homework_completion": False}
    with clock.frozen(WRITTEN + timedelta(hours=25)):
        locked = client.post(f"/bookings/notes/{note.id}", data={"notes": "rewrite"}, headers=htmx)
        html = locked.get_data(as_text=True)
        assert "can no longer be edited" in html and "Add an amendment" in html
        amended = client.post(f"/bookings/notes/{note.id}/amendments", data={"text": "Slept better"},
                              headers=htmx).get_data(as_text=True)
        assert "Slept better" in amended and "Locked" in amended
    db.session.expire_all()
    assert db.session.get(SessionNote, note.id).notes == "Calmer today"


def test_patient_and_other_specialist_cannot_post_notes_through_pages(client, users, booking, note, login_as):
    login_as(users["patient"])
    assert client.post(f"/bookings/{booking.id}/notes", data={"notes": "x"}).status_code == 403
    assert client.post(f"/bookings/notes/{note.id}", data={"notes": "x"}).status_code == 403
    assert client.post(f"/bookings/notes/{note.id}/delete").status_code == 403
    login_as(users["other_specialist"])
    assert client.post(f"/bookings/notes/{note.id}/amendments", data={"text": "x"}).status_code == 404
    login_as(users["admin"])
    assert client.post(f"/bookings/notes/{note.id}/delete").status_code == 302
    assert count(SessionNote) == 0


def test_specialist_notes_list_searches_own_notes(client, users, note, make_booking, login_as):
    other_booking = make_booking(users["other_patient"], users["other_specialist"])
    note_create(actor=users["other_specialist"], booking_id=other_booking.id, data={"notes": "panic elsewhere"})
    login_as(users["specialist"])
    html = client.get("/specialist/notes?q=panic").get_data(as_text=True)
    assert "1 note matching" in html and "Pat One" in html and "elsewhere" not in html
    assert "No notes match" in client.get("/specialist/notes?q=zebra").get_data(as_text=True)
    login_as(users["patient"])
    assert client.get("/specialist/notes").status_code == 403


def test_database_errors_do_not_carry_note_text(users, booking):
    """A failed insert's message (logged, sent to Sentry) names no parameters."""
    import uuid

    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as error, db.session.begin_nested():
        db.session.add(SessionNote(booking_id=uuid.uuid4(), provider_id=users["specialist"].id,
                                   notes=SECRET))
        db.session.flush()
    assert SECRET not in str(error.value)


def test_sentry_event_of_a_failed_note_save_has_no_note_text(client, users, booking, api_headers,
                                                              monkeypatch):
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from portal.web.monitoring import scrub_event

    envelopes = []

    class Capturing(Transport):
        def capture_envelope(self, envelope):
            envelopes.append(envelope)

    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("portal.services.notes.audit_record", broken_audit)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Capturing(), before_send=scrub_event)
    try:
        response = client.post("/api/v1/session-notes", json={"booking_id": str(booking.id), **BODY},
                               headers=api_headers(users["specialist"]))
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
        client.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    events = [item.payload.json for env in envelopes for item in env.items if item.type == "event"]
    assert events and all(SECRET not in repr(event) and "Breathing" not in repr(event) for event in events)


def test_patient_sees_no_edit_controls_or_lock_badges(client, users, note, booking, login_as):
    login_as(users["patient"])
    with clock.frozen(WRITTEN + timedelta(hours=1)):
        html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert SECRET in html
    for control in ("Write a note", "Editable until", ">Edit<", "Delete note", "Add an amendment"):
        assert control not in html
