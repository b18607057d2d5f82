"""The database's overlap guarantee on PostgreSQL (migration 0020's trigger), with two
concurrent transactions on two connections: the second writer of an overlapping
active booking, for the same specialist or the same patient, waits for the first
and is refused once it commits, whether either writes one row or a dispatcher batch."""
from __future__ import annotations

import threading
import time as timer
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.extensions import db
from portal.models import Booking
from portal.services.recurring_dispatch import postgres as dispatch_sql
from portal.services.recurring_dispatch.planning import PATIENT_BUSY, SLOT_TAKEN, Plan
from tests.conftest import require_or_skip

START = datetime(2030, 1, 7, 10, tzinfo=UTC)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def pg(committed_db):
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    return committed_db


@pytest.fixture
def people(pg):
    from portal.services.users import user_create

    made = {name: user_create(email=f"guard-{name}@example.test", password="x" * 12,
                              role="specialist" if name.startswith("spec") else "patient").id
            for name in ("spec1", "spec2", "pat1", "pat2")}
    db.session.commit()
    return made


def _row(specialist_id, patient_id, starts_at: datetime, minutes: int = 60) -> dict:
    return {"id": uuid.uuid4(), "patient_id": patient_id, "specialist_id": specialist_id,
            "starts_at": starts_at, "ends_at": starts_at + timedelta(minutes=minutes), "price": Decimal(10),
            "currency": "USD", "recurring_booking_id": None, "occurrence_date": starts_at.date()}


def _single(row: dict) -> None:
    """A page's or the API's write: one ORM row, flushed."""
    db.session.add(Booking(**{k: v for k, v in row.items() if k != "occurrence_date"}, status="confirmed"))
    db.session.flush()


def _batch(rows: list[dict]) -> Plan:
    """The dispatcher's set-based insert of a batch."""
    plan = Plan(bookings=list(rows))
    dispatch_sql.insert_bookings_unless_they_clash(plan, NOW)
    return plan


def _someone_waits() -> bool:
    """A transaction in this database waits for an advisory lock (the trigger's party lock)."""
    with db.engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")))


def _race(app, first, second) -> tuple[object, object]:
    """`first` writes and holds its transaction open; `second` writes on another
    connection meanwhile (it must wait for the first's locks); then the first
    commits, and the second commits if it can. Their results (or errors)."""
    outcome: dict = {}

    def run_second():
        with app.app_context():
            try:
                outcome["second"] = second()
                db.session.commit()
            except (IntegrityError, DBAPIError) as error:
                db.session.rollback()
                outcome["second"] = error
            finally:
                db.session.remove()

    with app.app_context():
        try:
            outcome["first"] = first()
            thread = threading.Thread(target=run_second)
            thread.start()
            deadline = timer.monotonic() + 10
            while not _someone_waits():
                assert timer.monotonic() < deadline, "the second writer never waited for the first"
                assert thread.is_alive(), f"the second writer did not wait: {outcome.get('second')!r}"
                timer.sleep(0.02)
            db.session.commit()
        finally:
            db.session.remove()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return outcome["first"], outcome["second"]


def _active_at(column: str, party_id) -> int:
    db.session.rollback()
    return db.session.scalar(sa.text(
        f"SELECT count(*) FROM bookings WHERE {column} = :party AND status IN ('pending', 'confirmed') "
        "AND starts_at < :end AND ends_at > :start"),
        {"party": party_id, "start": START, "end": START + timedelta(hours=1)})


PARTIES = {  # (first row's parties, second row's parties, the column they share, the dispatcher's reason)
    "specialist": (("spec1", "pat1"), ("spec1", "pat2"), "specialist_id", SLOT_TAKEN),
    "patient": (("spec1", "pat1"), ("spec2", "pat1"), "patient_id", PATIENT_BUSY),
}


@pytest.mark.parametrize("party", PARTIES)
def test_two_single_writers_one_wins(pg, people, party):
    (s1, p1), (s2, p2), column, _ = PARTIES[party]
    first, second = _race(pg, lambda: _single(_row(people[s1], people[p1], START)),
                          lambda: _single(_row(people[s2], people[p2], START + timedelta(minutes=30))))
    assert isinstance(second, IntegrityError)
    assert second.orig.sqlstate == "23P01"
    assert _active_at(column, people[s1] if column == "specialist_id" else people[p1]) == 1


@pytest.mark.parametrize("party", PARTIES)
def test_a_single_writer_then_a_dispatcher_batch_one_wins(pg, people, party):
    """The batch waits, is refused as a whole by the trigger, then books its clean row
    and skips the clashing one with the reason a user reads."""
    (s1, p1), (s2, p2), column, reason = PARTIES[party]
    clashing = _row(people[s2], people[p2], START + timedelta(minutes=30))
    clean = _row(people[s2], people[p2], START + timedelta(hours=5))
    first, plan = _race(pg, lambda: _single(_row(people[s1], people[p1], START)),
                        lambda: _batch([clashing, clean]))
    assert isinstance(plan, Plan)
    assert [b["id"] for b in plan.bookings] == [clean["id"]]
    assert [s["reason"] for s in plan.skips] == [reason]
    assert _active_at(column, people[s1] if column == "specialist_id" else people[p1]) == 1


@pytest.mark.parametrize("party", PARTIES)
def test_a_dispatcher_batch_then_a_single_writer_one_wins(pg, people, party):
    (s1, p1), (s2, p2), column, _ = PARTIES[party]
    first, second = _race(pg, lambda: _batch([_row(people[s1], people[p1], START)]),
                          lambda: _single(_row(people[s2], people[p2], START + timedelta(minutes=45), minutes=50)))
    assert len(first.bookings) == 1
    assert isinstance(second, IntegrityError)
    assert second.orig.sqlstate == "23P01"
    assert _active_at(column, people[s1] if column == "specialist_id" else people[p1]) == 1


@pytest.mark.parametrize("party", PARTIES)
def test_two_dispatcher_batches_one_wins(pg, people, party):
    (s1, p1), (s2, p2), column, reason = PARTIES[party]
    first, second = _race(pg, lambda: _batch([_row(people[s1], people[p1], START)]),
                          lambda: _batch([_row(people[s2], people[p2], START - timedelta(minutes=15))]))
    assert len(first.bookings) == 1
    assert second.bookings == [] and [s["reason"] for s in second.skips] == [reason]
    assert _active_at(column, people[s1] if column == "specialist_id" else people[p1]) == 1


def test_a_stricter_isolation_level_is_refused_and_a_too_long_session_too(pg, people):
    """REPEATABLE READ would check in the snapshot taken before the wait: refused outright.
    The check reads a bounded range, so no active booking may last over a day."""
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with pytest.raises(DBAPIError, match="READ COMMITTED"), conn.begin():
            conn.execute(sa.text(
                "INSERT INTO bookings (id, patient_id, specialist_id, starts_at, ends_at, status, price, currency, "
                "created_at, updated_at) VALUES (gen_random_uuid(), :p, :s, :a, :b, 'confirmed', 1, 'USD', now(), "
                "now())"), {"p": people["pat1"], "s": people["spec1"], "a": START, "b": START + timedelta(hours=1)})
    with pg.app_context(), pytest.raises(IntegrityError, match="at most"):
        _single(_row(people["spec1"], people["pat1"], START, minutes=25 * 60))
    with pg.app_context():
        db.session.rollback()
        assert db.session.scalar(sa.text("SELECT count(*) FROM bookings")) == 0
