"""Reminders (exactly once, never for cancelled bookings, opt-out), series confirmations, the
nightly skip summary, the mailbox page and the account switch."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.jobs.tasks import queue_reminders_job
from portal.models import Booking, Outbox, RecurringBooking, WorkingHours
from portal.services.cancellations import booking_cancel
from portal.services.mail_delivery import outbox_deliver
from portal.services.recurring import recurring_create, recurring_dispatch, recurring_pause, recurring_resume
from portal.services.reminders import reminders_queue
from tests.mail.conftest import parts, whole_text


def rows(template: str) -> list[Outbox]:
    return list(db.session.scalars(sa.select(Outbox).where(Outbox.template == template)
                                   .execution_options(populate_existing=True)))


def soon(make_booking, users, hours: float, **kwargs) -> Booking:
    starts = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    return make_booking(users["patient"], users["specialist"], starts, **kwargs)


def test_reminders_are_written_once_per_booking_and_party(app, users, make_booking, smtp_server):
    due = soon(make_booking, users, 10)
    soon(make_booking, users, 30)  # beyond REMINDER_HOURS (24)
    cancelled = soon(make_booking, users, 5, status="cancelled")
    assert queue_reminders_job() == {"count": 2}
    assert queue_reminders_job() == {"count": 0}
    assert {r.about["booking_id"] for r in rows("booking_reminder")} == {str(due.id)}
    assert outbox_deliver() == {"sent": 2}
    (reminder,) = smtp_server.messages(users["patient"].email)
    assert reminder["Subject"].startswith("Reminder: your session on")
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(cancelled.id) not in whole_text(reminder)


def test_a_deactivated_party_is_not_reminded(app, users, make_booking):
    due = soon(make_booking, users, 10)
    users["specialist"].is_active = False
    db.session.flush()
    assert reminders_queue() == 1
    assert [(r.recipient_id, r.about["booking_id"]) for r in rows("booking_reminder")] == [
        (users["patient"].id, str(due.id))]


def test_a_reminder_for_a_booking_cancelled_meanwhile_is_dropped(app, users, make_booking, smtp_server):
    booking = soon(make_booking, users, 10)
    reminders_queue()
    booking_cancel(actor=users["patient"], booking_id=booking.id, reason="Private reason")
    db.session.commit()
    outcome = outbox_deliver()
    assert outcome == {"dropped": 2, "sent": 1}  # two reminders dropped, the specialist's cancel notice sent
    assert [m["Subject"].split(":")[0] for m in smtp_server.messages()] == ["Session cancelled"]


def _delivered_opt_out_link(make_booking, users, smtp_server) -> str:
    """The opt-out path in the reminder the patient received for a session in 10 hours."""
    soon(make_booking, users, 10)
    reminders_queue()
    db.session.commit()
    outbox_deliver()
    (reminder,) = smtp_server.messages(users["patient"].email)
    return re.search(r"http://127\.0\.0\.1:5000(/reminders/off/\S+)", parts(reminder)["text/plain"]).group(1)


def test_the_signed_link_in_a_reminder_turns_reminders_off(app, users, make_booking, smtp_server, client):
    link = _delivered_opt_out_link(make_booking, users, smtp_server)
    page = client.get(link)
    assert page.status_code == 200 and "Turn reminders off" in page.get_data(as_text=True)
    assert client.post(link).status_code == 302
    db.session.refresh(users["patient"])
    assert users["patient"].reminders_enabled is False
    assert "Reminders are off" in client.get(link).get_data(as_text=True)
    assert client.get(link[:-3] + "xyz").status_code == 404  # a tampered token
    # The mail client's one-click POST (RFC 8058) answers 204.
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 204
    later = soon(make_booking, users, 12)
    reminders_queue()
    assert [r.recipient_id for r in rows("booking_reminder") if r.about["booking_id"] == str(later.id)] == [
        users["specialist"].id]


def test_the_outbox_keeps_a_reminder_without_its_working_opt_out_link(app, users, make_booking, smtp_server):
    link = _delivered_opt_out_link(make_booking, users, smtp_server)
    (kept,) = [r for r in rows("booking_reminder") if r.recipient_id == users["patient"].id]
    assert kept.status == "sent" and kept.body_text and "/reminders/off/" not in kept.body_text
    assert link not in kept.body_text and link not in (kept.body_html or "")


def test_the_account_page_switches_reminders(app, users, login_as):
    client = login_as(users["specialist"])
    page = client.get("/account")
    assert page.status_code == 200 and 'id="reminders"' in page.get_data(as_text=True)
    assert client.post("/account/email", data={}).status_code == 302
    db.session.refresh(users["specialist"])
    assert users["specialist"].reminders_enabled is False
    client.post("/account/email", data={"reminders": "on"})
    db.session.refresh(users["specialist"])
    assert users["specialist"].reminders_enabled is True


def test_a_new_series_is_confirmed_once_listing_its_sessions(app, users, smtp_server):
    start = clock.today() + timedelta(days=7)
    while start.weekday() >= 5:
        start += timedelta(days=1)
    series = recurring_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                              frequency="weekly", start_date=start).series
    db.session.commit()
    assert len(rows("series_confirmed")) == 2
    assert outbox_deliver() == {"sent": 2}
    (mail,) = smtp_server.messages(users["patient"].email)
    assert mail["Subject"] == "Recurring sessions set up with Spec One"
    text = parts(mail)["text/plain"]
    assert text.count("(booked nearer the time)") == 6
    assert f"/recurring/{series.id}" in text
    recurring_pause(actor=users["patient"], series=series)
    recurring_resume(actor=users["patient"], series=series)
    db.session.commit()
    assert len(rows("series_confirmed")) == 4
    outbox_deliver()
    assert smtp_server.messages(users["patient"].email)[-1]["Subject"] == "Series resumed with Spec One"


def test_the_night_mails_only_the_skips(app, users, smtp_server, make_booking, monkeypatch):
    monkeypatch.setitem(app.config, "RECURRING_HORIZON_DAYS", 0)  # one night, one occurrence per series
    specialist, patient = users["specialist"], users["patient"]
    db.session.query(WorkingHours).filter_by(specialist_id=specialist.id).delete()
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(8),
                                    end_time=time(18)))
    other = users["other_patient"]
    booked = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                              start_date=date(2027, 1, 18), time_of_day=time(10), is_active=True,
                              next_booking_date=date(2027, 1, 18), next_occurrence_index=0)
    clashing = RecurringBooking(user_id=other.id, specialist_id=specialist.id, frequency="weekly",
                                start_date=date(2027, 1, 18), time_of_day=time(10, 30), is_active=True,
                                next_booking_date=date(2027, 1, 18), next_occurrence_index=0)
    db.session.add_all([booked, clashing])
    db.session.commit()
    with clock.frozen(datetime(2027, 1, 18, 2, tzinfo=UTC)):
        result = recurring_dispatch(run_date=date(2027, 1, 18))
    assert result["count"] == 1  # the two series clash: one is booked, the other skipped
    clashing_booked = db.session.scalar(sa.select(Booking.id).where(Booking.recurring_booking_id == clashing.id))
    skipped = booked if clashing_booked else clashing
    summaries = rows("series_skips")
    assert [(r.recipient_id, r.about) for r in summaries] == [
        (skipped.user_id, {"recurring_id": str(skipped.id), "dates": ["2027-01-18"]})]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 1  # no mail per booking
    with clock.frozen(datetime(2027, 1, 18, 2, 1, tzinfo=UTC)):
        assert outbox_deliver() == {"sent": 1}
    (mail,) = smtp_server.messages(patient.email if skipped is booked else other.email)
    assert mail["Subject"] == "Some sessions with Spec One could not be booked"
    assert "18 January 2027: Slot taken" in parts(mail)["text/plain"]


def test_the_mailbox_shows_kept_messages_as_rendered_to_admins_and_ops(app, users, make_booking, login_as, client):
    soon(make_booking, users, 10)
    reminders_queue()
    db.session.commit()
    assert outbox_deliver() == {"kept": 2}  # no SMTP_URL: kept, not sent
    for role in ("admin", "ops"):
        page = login_as(users[role]).get("/admin/outbox")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert html.count("Reminder: your session on") == 2 and "No <code>SMTP_URL</code>" in html
    message = rows("booking_reminder")[0]
    detail = login_as(users["admin"]).get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "kept" in detail and "Plain-text part" in detail and "Turn them off with one click" in detail
    body = login_as(users["admin"]).get(f"/admin/outbox/{message.id}/body.html")
    assert "sandbox" in body.headers["Content-Security-Policy"] and "<html" in body.get_data(as_text=True)
    assert login_as(users["patient"]).get("/admin/outbox").status_code == 403


def test_a_package_about_to_expire_with_sessions_left_is_announced_once(app, users, smtp_server):
    from decimal import Decimal

    from portal.jobs.tasks import expire_enrolments_job
    from portal.models import BookingPackage, PackageEnrolment
    from portal.services.enrolments import enrolment_mark_paid, enrolment_take

    package = BookingPackage(specialist_id=users["specialist"].id, name="Four-session block", session_count=4,
                             price=Decimal("320.00"), currency="USD", valid_for_days=30)
    spent = BookingPackage(specialist_id=users["specialist"].id, name="Single", session_count=1,
                           price=Decimal("90.00"), currency="USD", valid_for_days=30)
    db.session.add_all([package, spent])
    db.session.flush()
    with clock.frozen(datetime(2027, 3, 1, 8, tzinfo=UTC)):
        enrolments = [enrolment_take(actor=users["patient"], package_id=p.id) for p in (package, spent)]
        for enrolment in enrolments:
            enrolment_mark_paid(actor=users["admin"], enrolment_id=enrolment.id, reference="BANK-1")
    enrolments[1].credits_used = 1  # nothing left to lose: no notice
    db.session.commit()
    assert enrolments[0].expires_on == date(2027, 3, 31)

    assert expire_enrolments_job("2027-03-23") == {"expired": 0, "expiry_notices": 0}  # eight days ahead
    assert expire_enrolments_job("2027-03-24") == {"expired": 0, "expiry_notices": 1}
    assert expire_enrolments_job("2027-03-25") == {"expired": 0, "expiry_notices": 0}  # once only
    assert [(r.recipient_id, r.about) for r in rows("package_expiring")] == [
        (users["patient"].id, {"enrolment_id": str(enrolments[0].id)})]
    assert db.session.get(PackageEnrolment, enrolments[0].id).expiry_notice_at is not None

    with clock.frozen(datetime(2027, 3, 24, 0, 11, tzinfo=UTC)):
        assert outbox_deliver() == {"sent": 1}
    (mail,) = smtp_server.messages(users["patient"].email)
    assert mail["Subject"] == "Your package with Spec One expires on 31 March"
    text = parts(mail)["text/plain"]
    assert "can be used until Wednesday 31 March 2027" in text
    assert "You have 4 sessions left in it. Sessions not booked by then are lost." in text
    assert f"/specialists/{users['specialist'].id}" in text
    assert "4 sessions left" in parts(mail)["text/html"]


def test_an_expiry_notice_for_a_package_used_up_meanwhile_is_dropped(app, users, smtp_server):
    from decimal import Decimal

    from portal.models import BookingPackage
    from portal.services.enrolments import enrolment_mark_paid, enrolment_take, enrolments_send_expiry_notices

    package = BookingPackage(specialist_id=users["specialist"].id, name="Pair", session_count=2,
                             price=Decimal("150.00"), currency="USD", valid_for_days=5)
    db.session.add(package)
    db.session.flush()
    with clock.frozen(datetime(2027, 3, 1, 8, tzinfo=UTC)):
        enrolment = enrolment_take(actor=users["patient"], package_id=package.id)
        enrolment_mark_paid(actor=users["admin"], enrolment_id=enrolment.id, reference="BANK-2")
        assert enrolments_send_expiry_notices() == 1  # five days' validity: within the week at once
        enrolment.credits_used = 2  # both booked before the mail went out
        db.session.commit()
        assert outbox_deliver() == {"dropped": 1}
    assert smtp_server.messages(users["patient"].email) == []
