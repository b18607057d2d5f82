"""PostgreSQL row-level security refuses what portal.policies refuses (docs/row-level-security.md).

Each check runs as a request runs: the transaction switched to DATABASE_APP_ROLE with the user
set (`acting_as`), the queries with no Python filter at all. The world is test_policies': a
subject booking (patient with specialist) with a row of every kind, and its mirror for the
other patient and specialist."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login import login_user, logout_user
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from portal import clock, policies
from portal.extensions import db
from portal.models import (
    AvailabilityException,
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    ErasureRequest,
    Outbox,
    SessionNote,
)
from portal.models.row_policies import RULES
from portal.models.row_security import acting_as, restore_owner
from portal.selectors.availability import busy_between, exceptions_of
from portal.services.bookings import booking_create
from portal.services.cancellations import booking_cancel
from tests.test_policies import ROLES, build_party_rows, world  # noqa: F401 (the fixture)

# The spec's list, and what else holds a person's data.
PROTECTED = ("bookings", "booking_cancellations", "booking_packages", "recurring_bookings", "session_notes",
             "meeting_recordings", "specialist_availability_exceptions", "booking_status_history",
             "package_enrolments", "outbox", "record_access_log", "erasure_requests", "session_note_amendments",
             "audit_logs", "intake_forms", "intake_responses", "consent_terms", "consents")
MODELS = sorted((mapper.class_ for mapper in db.Model.registry.mappers
                 if mapper.local_table.name in RULES), key=lambda model: model.__name__)


@pytest.fixture(autouse=True)
def _postgres(postgres_only):
    pass


@contextmanager
def refused():
    """The block's write must be refused by a policy; the test's transaction carries on."""
    with pytest.raises(ProgrammingError, match="row-level security"), db.session.begin_nested():
        yield


def test_every_listed_table_is_forced_with_a_policy_per_command():
    flags = dict(db.session.execute(sa.text(
        "select relname, relrowsecurity and relforcerowsecurity from pg_class "
        "where relname = any(:tables) and relkind = 'r'"), {"tables": list(PROTECTED)}).all())
    assert flags == dict.fromkeys(PROTECTED, True)
    policies_found = set(db.session.execute(sa.text(
        "select tablename, cmd from pg_policies where tablename = any(:tables)"), {"tables": list(PROTECTED)}).all())
    expected = {(table, cmd) for table in PROTECTED for cmd in ("SELECT", "INSERT", "UPDATE", "DELETE", "ALL")}
    assert expected - policies_found == set()


def test_requests_run_as_the_app_role_and_jobs_as_the_owner(users):
    owner = db.session.scalar(sa.text("select current_user"))
    with acting_as(users["patient"]):
        assert db.session.execute(sa.text("select current_user, portal_user_id(), portal_role()")).one() == (
            "portal_app", users["patient"].id, "patient")
    assert db.session.scalar(sa.text("select current_user")) == owner
    assert db.session.scalar(sa.text("select portal_user_id()")) is None


def test_a_request_switches_when_it_begins_and_when_its_user_signs_in(app, users):
    who = sa.text("select current_user, portal_user_id(), portal_role()")
    db.session.commit()  # the request's transaction begins afresh, as in production
    with app.test_request_context("/"):
        assert db.session.execute(who).one() == ("portal_app", None, None)
        login_user(users["specialist"])
        assert db.session.execute(who).one() == ("portal_app", users["specialist"].id, "specialist")
        db.session.commit()
        assert db.session.execute(who).one() == ("portal_app", users["specialist"].id, "specialist")
        logout_user()
        assert db.session.execute(who).one() == ("portal_app", None, None)
        restore_owner()
    assert db.session.execute(who).one()[1:] == (None, None)


@contextmanager
def role_settings() -> Iterator[list[tuple[str, str]]]:
    """(role, user id) of every switch the block sends; ("none", "") back to the owner."""
    sent: list[tuple[str, str]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):
        if "set_config('role'" in statement:
            sent.append((parameters["role"], parameters["user_id"]) if parameters else ("none", ""))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)


def _the_requests(sent: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Less the test client's switch back to the owner after each request (not the request's)."""
    return sent[:-1] if sent and sent[-1] == ("none", "") else sent


def test_a_signed_in_request_switches_its_transaction_once_to_its_user(client, login_as, users):
    login_as(users["patient"])
    with role_settings() as sent:
        page = client.get("/account/data")
    assert page.status_code == 200
    # Finding the user (users has no row policies) is the owner's; the page's reads are the user's.
    assert _the_requests(sent) == [("portal_app", str(users["patient"].id))]


def test_an_api_request_switches_once_to_the_tokens_user(client, users, api_headers):
    headers = api_headers(users["patient"])
    client.get("/api/v1/me", headers=headers)  # the token's first use is noted in a commit of its own
    with role_settings() as sent:
        answer = client.get("/api/v1/bookings", headers=headers)
    assert answer.status_code == 200
    assert _the_requests(sent) == [("portal_app", str(users["patient"].id))]


def test_a_signed_out_request_still_runs_as_the_app_role(client):
    with role_settings() as sent:
        assert client.get("/specialists").status_code == 200
    assert _the_requests(sent) == [("portal_app", "")]


def test_the_owners_transactions_send_no_switch(app):
    """A job's or a command's transactions, each on a connection from the pool: the pool hands
    connections back with no settings, so the owner's transaction needs none."""
    who = sa.text("select current_user = session_user, portal_user_id()")
    with role_settings() as sent, Session(db.engine) as session:
        for _ in range(3):
            assert session.execute(who).one() == (True, None)
            session.commit()
    assert sent == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_database_returns_exactly_the_rows_visible_returns(world, model):  # noqa: F811
    actors, _ = world
    key = sa.inspect(model).primary_key[0]
    for role in ROLES:
        python = set(db.session.scalars(sa.select(key).where(policies.visible(model, actors[role]))))
        with acting_as(actors[role]):
            database = set(db.session.scalars(sa.select(key)))
        assert database == python, f"{role}: the policy and visible() disagree on {model.__name__}"


def test_an_unfiltered_query_returns_no_other_persons_row(world):  # noqa: F811
    actors, _ = world
    patient = actors["patient"]
    with acting_as(patient):
        parties = db.session.execute(sa.select(Booking.patient_id, Booking.specialist_id)).all()
        notes = db.session.scalars(sa.select(SessionNote.booking_id)).all()
        mail = db.session.scalars(sa.select(Outbox.id)).all()
    assert parties and {p for p, _ in parties} == {patient.id}
    own = set(db.session.scalars(sa.select(Booking.id).filter_by(patient_id=patient.id)))
    assert notes and set(notes) <= own
    assert mail == []


def test_a_strangers_free_times_come_from_the_database_without_identities_or_reasons(world):  # noqa: F811
    actors, subject = world
    specialist_id, booked = actors["specialist"].id, (subject["booking"].starts_at, subject["booking"].ends_at)
    away = subject["exception"].exception_date
    with acting_as(None):
        assert db.session.scalars(sa.select(Booking.id)).all() == []
        busy = busy_between(specialist_id, booked[0] - timedelta(hours=1), booked[1], gap=timedelta(0))
        days = exceptions_of([specialist_id], clock.now().date(), clock.now().date() + timedelta(days=7))
    assert busy == [booked]
    [[day]] = days.values()
    assert day.exception_date == away and not hasattr(day, "reason")


def test_a_patient_cannot_learn_another_patients_busy_times(world, make_booking):  # noqa: F811
    actors, _ = world
    elsewhere = make_booking(actors["other_patient"], actors["other_specialist"], clock.now().replace(
        minute=0, second=0, microsecond=0) + timedelta(days=9))
    window = (elsewhere.starts_at - timedelta(hours=2), elsewhere.ends_at + timedelta(hours=2))
    asked = {"gap": timedelta(0), "patient_id": actors["other_patient"].id}
    with acting_as(actors["patient"]):
        assert busy_between(actors["specialist"].id, *window, **asked) == []
    with acting_as(actors["admin"]):
        assert busy_between(actors["specialist"].id, *window, **asked) == [(elsewhere.starts_at, elsewhere.ends_at)]


def test_a_patients_booking_and_cancellation_pass_every_check(users, make_specialist):
    patient, specialist = users["patient"], make_specialist()
    starts_at = (clock.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    while starts_at.weekday() >= 5:
        starts_at += timedelta(days=1)
    with acting_as(patient):
        booking = booking_create(actor=patient, patient=patient, specialist_id=specialist.id, starts_at=starts_at)
        booking_cancel(actor=patient, booking_id=booking.id, reason="Unwell")
        db.session.flush()
    # The specialist's mail and the history were written by the patient, and are there.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox).filter_by(recipient_id=specialist.id))
    assert db.session.scalar(sa.select(BookingCancellation.cancelled_by).filter_by(booking_id=booking.id)) == patient.id
    assert {h.to_status for h in db.session.scalars(sa.select(BookingStatusHistory).filter_by(
        booking_id=booking.id))} == {"confirmed", "cancelled"}


def test_forged_cross_party_writes_are_refused(world):  # noqa: F811
    actors, subject = world
    patient, mirror = actors["patient"], db.session.scalar(
        sa.select(Booking).filter_by(patient_id=actors["other_patient"].id))
    start = clock.now() + timedelta(days=20)
    with acting_as(patient):
        with refused():
            db.session.execute(sa.insert(Booking).values(
                patient_id=actors["other_patient"].id, specialist_id=actors["specialist"].id, starts_at=start,
                ends_at=start + timedelta(hours=1), status="confirmed", price=1, currency="USD"))
        with refused():
            db.session.execute(sa.insert(BookingCancellation).values(
                booking_id=subject["booking"].id, cancelled_by=actors["specialist"].id, reason="forged"))
        with refused():
            db.session.execute(sa.insert(ErasureRequest).values(patient_id=actors["other_patient"].id))
        moved = db.session.execute(sa.update(Booking).where(Booking.id == mirror.id).values(status="cancelled"))
        assert moved.rowcount == 0
        with refused():  # the own booking handed to someone else
            db.session.execute(sa.update(Booking).where(Booking.id == subject["booking"].id)
                               .values(patient_id=actors["other_patient"].id))
    with acting_as(actors["specialist"]), refused():
        db.session.execute(sa.insert(SessionNote).values(booking_id=mirror.id, provider_id=actors["specialist"].id,
                                                         notes="forged"))
    with acting_as(actors["other_specialist"]):
        gone = db.session.execute(sa.delete(AvailabilityException).where(
            AvailabilityException.id == subject["exception"].id))
        assert gone.rowcount == 0
    assert db.session.scalar(sa.select(Booking.status).filter_by(id=mirror.id)) == "confirmed"
