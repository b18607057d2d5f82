"""What arrives at a real SMTP server: confirmations with .ics invitations, cancellation notices,
and the crash cases (rolled back, server down, job run twice, deliverer dying mid-send)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.jobs.tasks import deliver_outbox_job
from portal.models import Outbox
from portal.services.bookings import booking_create
from portal.services.cancellations import booking_cancel
from portal.services.mail_delivery import outbox_deliver, smtp_connect
from portal.services.mail_files import mail_folder
from tests.mail.conftest import free_port, parts, whole_text

SECRET_REASON = "Severe migraine and anxiety medication change"


def next_weekday_at(hour: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def outbox_rows(**where) -> list[Outbox]:
    query = sa.select(Outbox).order_by(Outbox.created_at)
    for key, value in where.items():
        query = query.where(getattr(Outbox, key) == value)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


@pytest.fixture
def booked(app, users):
    users["patient"].timezone = "Europe/Berlin"
    booking = booking_create(actor=users["patient"], patient=users["patient"],
                             specialist_id=users["specialist"].id, starts_at=next_weekday_at(10))
    db.session.commit()
    return booking


def test_booking_confirmation_reaches_both_parties_with_an_ics_request(app, users, smtp_server, booked):
    assert outbox_deliver() == {"sent": 2}
    patient, specialist = users["patient"], users["specialist"]
    (to_patient,) = smtp_server.messages(patient.email)
    (to_specialist,) = smtp_server.messages(specialist.email)
    assert to_patient["Subject"].startswith("Session booked: ")
    assert "(Europe/Berlin)" in to_patient["Subject"]  # the viewer's zone named in the text
    assert "(UTC)" in to_specialist["Subject"]
    found = parts(to_patient)
    assert {"text/plain", "text/html", "text/calendar"} <= set(found)
    ics = found["text/calendar"]
    assert "METHOD:REQUEST" in ics
    assert f"UID:booking-{booked.id}@clinic-portal" in ics
    assert booked.starts_at.strftime("DTSTART:%Y%m%dT%H%M%SZ") in ics  # UTC
    assert f"http://127.0.0.1:5000/bookings/{booked.id}" in found["text/plain"]
    assert "Spec One" in found["text/plain"] and "Pat One" in parts(to_specialist)["text/plain"]
    rows = outbox_rows()
    assert {r.status for r in rows} == {"sent"} and {r.tries for r in rows} == {1}


def test_cancellation_notice_goes_to_the_other_party_without_the_reason(app, users, smtp_server, booked):
    outbox_deliver()
    booking_cancel(actor=users["specialist"], booking_id=booked.id, reason=SECRET_REASON)
    db.session.commit()
    assert outbox_deliver() == {"sent": 1}
    (notice,) = [m for m in smtp_server.messages(users["patient"].email) if "cancelled" in m["Subject"]]
    assert smtp_server.messages(users["specialist"].email)[-1]["Subject"].startswith("Session booked")
    text = parts(notice)["text/plain"]
    assert "Cancelled by Spec One" in text and "No refund is made" in text
    ics = parts(notice)["text/calendar"]
    assert "METHOD:CANCEL" in ics and f"UID:booking-{booked.id}@clinic-portal" in ics
    for message in smtp_server.messages():
        assert "migraine" not in whole_text(message).lower()


def test_a_rolled_back_change_writes_and_sends_nothing(app, users, smtp_server):
    with db.session.begin_nested() as change:
        booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                       starts_at=next_weekday_at(11))
        assert len(outbox_rows()) == 2
        change.rollback()
    db.session.commit()
    assert outbox_rows() == []
    assert outbox_deliver() == {}
    assert smtp_server.messages() == []


def test_the_job_run_twice_sends_one_mail(app, users, smtp_server, booked):
    deliver_outbox_job()
    deliver_outbox_job()
    deliver_outbox_job([str(r.id) for r in outbox_rows()])
    assert len(smtp_server.messages()) == 2


def test_smtp_down_is_retried_with_backoff_then_failed_and_ops_retry_it(app, users, login_as, booked):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        assert outbox_deliver() == {"retry": 2}
        row = outbox_rows(recipient_id=users["patient"].id)[0]
        assert (row.status, row.tries) == ("pending", 1)
        assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)  # backoff: 60 s first
        assert outbox_deliver() == {}  # not due yet
        app.config["OUTBOX_RETRY_SECONDS"] = 0
        db.session.execute(sa.update(Outbox).values(next_attempt_at=datetime.now(UTC)))
        db.session.commit()
        outcomes = [outbox_deliver() for _ in range(4)]
        assert outcomes == [{"retry": 2}, {"retry": 2}, {"retry": 2}, {"failed": 2}]
        row = outbox_rows(recipient_id=users["patient"].id)[0]
        assert (row.status, row.tries) == ("failed", 5)
        assert "ConnectionRefusedError" in row.last_error
    finally:
        app.config["SMTP_URL"] = None
        app.config["OUTBOX_RETRY_SECONDS"] = 60
    page = login_as(users["ops"]).get("/admin/ops")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="failed-mail"' in html and f"failed-{row.id}" in html and "ConnectionRefusedError" in html
    retried = login_as(users["ops"]).post(f"/admin/outbox/{row.id}/retry", data={"back": "ops"})
    assert retried.status_code == 302
    row = outbox_rows(id=row.id)[0]
    assert (row.status, row.tries) == ("pending", 0)
    assert outbox_deliver(ids=[row.id]) == {"kept": 1}  # no SMTP_URL now: kept for the mailbox


def test_a_deliverer_dying_after_hand_over_never_sends_twice(app, users, smtp_server, booked):
    row = outbox_rows(recipient_id=users["patient"].id)[0]
    past = datetime.now(UTC) - timedelta(minutes=1)
    # As a deliverer leaves the row when it dies between handing the message over and recording it.
    db.session.execute(sa.update(Outbox).where(Outbox.id == row.id).values(
        status="sending", tries=1, lease_until=past, handed_over_at=past))
    db.session.commit()
    assert outbox_deliver() == {"sent": 1}  # the other party's confirmation only
    assert smtp_server.messages(users["patient"].email) == []
    row = outbox_rows(id=row.id)[0]
    assert row.status == "failed" and "may have arrived" in row.last_error


def test_a_deliverer_dying_before_hand_over_is_retried_once(app, users, smtp_server, booked):
    row = outbox_rows(recipient_id=users["patient"].id)[0]
    db.session.execute(sa.update(Outbox).where(Outbox.id == row.id).values(
        status="sending", tries=1, lease_until=datetime.now(UTC) + timedelta(minutes=4)))
    db.session.commit()
    assert outbox_deliver() == {"sent": 1}  # the lease still runs: not touched
    with clock.frozen(datetime.now(UTC) + timedelta(minutes=5)):  # the dead deliverer's lease has run out
        assert outbox_deliver() == {"sent": 1}
        assert outbox_deliver() == {}
    assert len(smtp_server.messages(users["patient"].email)) == 1
    assert outbox_rows(id=row.id)[0].tries == 2


def test_a_commits_messages_are_claimed_together_and_one_another_deliverer_holds_is_left(app, users, smtp_server):
    for hour in (9, 10, 11, 12):
        booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                       starts_at=next_weekday_at(hour))
    db.session.commit()
    rows = outbox_rows()
    held = rows[3]
    held.status, held.lease_until = "sending", clock.now() + timedelta(minutes=5)  # another deliverer's
    db.session.commit()
    claims = []

    def seen(_conn, _cursor, statement, *_):
        if statement.lstrip().startswith("UPDATE outbox") and "RETURNING" in statement:  # a lease
            claims.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        outcome = outbox_deliver(ids=[str(row.id) for row in rows])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert outcome == {"sent": 7}
    assert len(claims) == 2  # eight rows, claimed five at a time, not one by one
    assert len(smtp_server.messages()) == 7
    after = {row.id: (row.status, row.tries) for row in outbox_rows()}
    assert after.pop(held.id) == ("sending", 0)  # not taken from the deliverer holding it
    assert set(after.values()) == {("sent", 1)}



def _book_hours(users, hours) -> None:
    for hour in hours:
        booking_create(actor=users["patient"], patient=users["patient"], specialist_id=users["specialist"].id,
                       starts_at=next_weekday_at(hour))
    db.session.commit()


def test_without_a_mail_server_each_batch_is_recorded_in_one_statement(app, users):
    _book_hours(users, (9, 10, 11, 12))
    updates, booking_reads = [], []

    def seen(_conn, _cursor, statement, *_):
        if "UPDATE outbox" in statement:
            updates.append("lease" if "RETURNING" in statement else "outcomes")
        if statement.lstrip().startswith("SELECT bookings.id"):
            booking_reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert outbox_deliver() == {"kept": 8}
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert updates == ["lease", "outcomes", "lease", "outcomes"]  # five rows, then three
    assert len(booking_reads) == 2  # each batch's bookings in one read, for both parties' messages
    rows = outbox_rows()
    assert {(row.status, row.lease_until) for row in rows} == {("kept", None)}
    assert all(row.sent_at and row.subject.startswith("Session booked: ") for row in rows)
    kept = {path.name for path in mail_folder().iterdir()}
    assert all(any(name.endswith(f"{row.id}.eml") for name in kept) for row in rows)


def test_a_batch_shares_one_connection_and_a_refusal_starts_a_fresh_one(app, users, smtp_server):
    _book_hours(users, (9, 10))
    opened = []

    def connect(url):
        opened.append(url)
        return smtp_connect(url)

    assert outbox_deliver(smtp_factory=connect) == {"sent": 4}
    assert len(opened) == 1 and len(smtp_server.messages()) == 4

    _book_hours(users, (11, 12))
    accept = smtp_server.handle_DATA

    refused = []  # in the order the messages came, whether each was refused

    async def refuse_the_patient(server, session, envelope):
        refused.append(users["patient"].email in envelope.rcpt_tos)
        if refused[-1]:
            return "554 Refused by policy"
        return await accept(server, session, envelope)

    smtp_server.handle_DATA = refuse_the_patient
    opened.clear()
    assert outbox_deliver(smtp_factory=connect) == {"sent": 2, "retry": 2}
    assert refused.count(True) == 2
    # the batch's own connection, and a fresh one for a message that follows a refusal
    assert len(opened) == 1 + sum(refused[:-1])
    assert len(smtp_server.messages(users["specialist"].email)) == 4
    assert len(smtp_server.messages(users["patient"].email)) == 2
    assert sorted(row.status for row in outbox_rows()) == ["pending"] * 2 + ["sent"] * 6


def test_the_portal_writes_a_message_as_the_standard_policy_does():
    """The policy messages are composed with makes each header's class once, and writes the
    same bytes as email.policy.default: names and subjects beyond ASCII, an attachment's
    parameters, the parts' boundaries."""
    import email.policy
    from email.message import EmailMessage
    from email.utils import formataddr

    from portal.services.mail_delivery.rendering import MAIL_POLICY

    def written(policy) -> bytes:
        message = EmailMessage(policy=policy)
        message["From"] = "Clinic Portal <noreply@clinic.example>"
        message["To"] = formataddr(("Zoë Łukasiewicz-Ñúñez", "zoe@example.com"))
        message["Subject"] = "Your session on Thursday 10 December at 09:30 with Dr. Ümit Çelik is confirmed"
        message.set_content("Hello Zoë,\n\nSee you then.\n")
        message.add_alternative("<p>Hello Zoë,</p>" + "<p>See you then.</p>" * 80, subtype="html")
        message.add_attachment(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", maintype="text", subtype="calendar",
                               filename="session.ics", params={"method": "REQUEST"})
        for number, part in enumerate(message.walk()):
            if part.is_multipart():
                part.set_boundary(f"boundary-{number}")
        return message.as_bytes()

    assert MAIL_POLICY.header_factory["To"] is MAIL_POLICY.header_factory["to"]
    assert written(MAIL_POLICY) == written(email.policy.default)
    assert "=?utf-8?" in written(MAIL_POLICY).split(b"\n\n")[0].decode("ascii")  # the encoded name


def test_a_deliverer_whose_lease_ran_out_leaves_the_row_to_the_one_that_took_it(app, users, smtp_server):
    """A deliverer stalled past its lease (a paused process) while the sweep gave its rows to
    another: it sends nothing and records nothing; the other's claim stands."""
    _book_hours(users, (9,))
    taken_over_until = clock.now() + timedelta(minutes=5)

    def connect_after_a_stall(url):
        db.session.execute(sa.update(Outbox).where(Outbox.status == "sending")
                           .values(tries=Outbox.tries + 1, lease_until=taken_over_until))
        db.session.commit()
        return smtp_connect(url)

    assert outbox_deliver(smtp_factory=connect_after_a_stall) == {"lease_lost": 2}
    assert smtp_server.messages() == []
    rows = outbox_rows()
    assert {(row.status, row.tries, row.handed_over_at, row.sent_at) for row in rows} == {("sending", 2, None, None)}
    assert all(row.lease_until is not None for row in rows)


def test_without_a_mail_server_a_stale_deliverer_records_nothing(app, users, monkeypatch):
    import portal.services.mail_delivery as delivery

    _book_hours(users, (9,))
    write = delivery.mail_to_instance_folder

    def write_after_a_stall(row, message):
        db.session.execute(sa.update(Outbox).where(Outbox.id == row.id).values(tries=Outbox.tries + 1))
        db.session.commit()
        return write(row, message)

    monkeypatch.setattr(delivery, "mail_to_instance_folder", write_after_a_stall)
    outbox_deliver()
    assert {(row.status, row.tries, row.sent_at) for row in outbox_rows()} == {("sending", 2, None)}
