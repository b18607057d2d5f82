"""The join link of a video session reaches the parties in the confirmation, move and reminder
mails, put in when each is delivered: the outbox never keeps one. A waiting questionnaire is
named, never its answers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar

from portal import clock
from portal.extensions import db
from portal.models import Booking, Outbox
from portal.services.bookings import booking_create
from portal.services.intake import intake_form_set, intake_response_set
from portal.services.mail_delivery import LINK_NOT_KEPT, outbox_deliver
from portal.services.offerings import service_create
from portal.services.reminders import reminders_queue
from portal.services.reschedule import booking_reschedule
from tests.mail.conftest import parts, whole_text

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


def _video_booking(users, hour: int = 9) -> Booking:
    service = service_create(actor=users["specialist"], specialist_id=users["specialist"].id, name="Video",
                             duration_minutes=60, price="90.00", currency="USD", location={"kind": "video"})
    booking = booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                             starts_at=MONDAY + timedelta(hours=hour), service_id=service.id)
    db.session.commit()
    return booking


def _kept() -> list[Outbox]:
    return list(db.session.scalars(sa.select(Outbox).execution_options(populate_existing=True)))


def test_the_confirmation_carries_the_join_link_and_the_outbox_keeps_none(app, users, smtp_server):
    with clock.frozen(NOW):
        booking = _video_booking(users)
        outbox_deliver()
    room = booking.room_url
    for person in (users["patient"], users["specialist"]):
        (mail,) = smtp_server.messages(person.email)
        assert room in parts(mail)["text/plain"] and f'href="{room}"' in parts(mail)["text/html"]
        (invite,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
        (event,) = Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")
        assert str(event["LOCATION"]) == room and str(event["URL"]) == room
    kept = _kept()
    assert {row.status for row in kept} == {"sent"} and len(kept) == 2
    for row in kept:
        assert room not in (row.body_text or "") and room not in (row.body_html or "") and room not in str(row.about)
        assert LINK_NOT_KEPT in row.body_text


def test_a_moved_session_keeps_its_link_in_the_move_mail_and_the_reminder(app, users, smtp_server):
    with clock.frozen(NOW):
        booking = _video_booking(users)
        room = booking.room_url
        booking_reschedule(actor=users["patient"], booking_id=booking.id, starts_at=MONDAY + timedelta(hours=14))
        db.session.commit()
        outbox_deliver()
    assert db.session.get(Booking, booking.id).room_url == room
    moved = [m for m in smtp_server.messages(users["patient"].email) if m["Subject"].startswith("Session moved")]
    assert len(moved) == 1 and room in whole_text(moved[0])
    with clock.frozen(MONDAY + timedelta(hours=4)):
        reminders_queue()
        db.session.commit()
        outbox_deliver()
    reminder = [m for m in smtp_server.messages(users["patient"].email) if m["Subject"].startswith("Reminder")]
    assert len(reminder) == 1 and room in parts(reminder[0])["text/plain"]
    assert all(room not in (row.body_text or "") + (row.body_html or "") for row in _kept())


def test_the_confirmation_says_the_questionnaire_waits_and_never_carries_answers(app, users, smtp_server):
    specialist, patient = users["specialist"], users["patient"]
    intake_form_set(actor=specialist, specialist_id=specialist.id, questions=[
        {"id": "reason", "kind": "long_text", "label": "What brings you here?", "required": True}])
    with clock.frozen(NOW):
        _video_booking(users)
        outbox_deliver()
    (first,) = smtp_server.messages(patient.email)
    assert "still to be filled in" in parts(first)["text/plain"]
    assert f"/intake/{specialist.id}" in parts(first)["text/plain"]
    (to_specialist,) = smtp_server.messages(specialist.email)
    assert "still to be filled in" not in whole_text(to_specialist)
    intake_response_set(actor=patient, specialist_id=specialist.id, answers={"reason": "Panic at night " + "x" * 8})
    db.session.commit()
    with clock.frozen(MONDAY + timedelta(hours=4)):
        reminders_queue()
        db.session.commit()
        outbox_deliver()
    for mail in smtp_server.messages():
        assert "Panic at night" not in whole_text(mail)
    reminder = [m for m in smtp_server.messages(patient.email) if m["Subject"].startswith("Reminder")]
    assert reminder and "still to be filled in" not in whole_text(reminder[0])
