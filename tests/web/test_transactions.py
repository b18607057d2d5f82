"""Transactions that may write take SQLite's write lock when they begin, so concurrent writers
queue instead of failing; past the wait the answer is a calm 503 and nothing is half-written."""
from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import Booking, SpecialistRate, User, WorkingHours
from portal.models.transactions import intent_to_write
from portal.web.transactions import UndeclaredWrite, may_write, write_transaction
from tests.conftest import DEFAULT_PASSWORD, make_test_config


def test_the_rule_says_which_transactions_may_write(app):
    with app.test_request_context("/patient/", method="GET"):
        assert may_write() is False
        with intent_to_write():
            assert may_write() is True
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with app.test_request_context("/patient/", method=method):
            assert may_write() is True
    with app.test_request_context("/bookings/recordings/open/some-code", method="GET"):
        assert may_write() is True, "a GET that spends a one-time code is marked"
    with app.app_context():
        assert may_write() is False, "a test's or a migration's reads begin as reads"
        with intent_to_write():
            assert may_write() is True, "jobs and commands declare it"


def test_a_get_that_writes_unmarked_is_refused_in_the_tests(app, users):
    with app.test_request_context("/patient/", method="GET"):
        with pytest.raises(UndeclaredWrite):
            db.session.execute(sa.update(User).where(User.id == users["patient"].id).values(display_name="X"))
        db.session.rollback()
        with write_transaction():
            db.session.execute(sa.update(User).where(User.id == users["patient"].id).values(display_name="Y"))


@pytest.fixture
def sqlite_only(committed_db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    return committed_db


@pytest.fixture
def users_committed(committed_db):
    """(patient, specialist id, two patients' API tokens), committed: a specialist who works every
    day from 09:00 to 17:00 at one rate."""
    from portal.services.users import api_token_create, user_create

    patient = user_create(email="writer-patient@example.test", password=DEFAULT_PASSWORD, role="patient")
    specialist = user_create(email="writer-specialist@example.test", password=DEFAULT_PASSWORD, role="specialist")
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(9),
                                    end_time=time(17)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=80, currency="EUR",
                                  effective_from=date(2000, 1, 1)))
    second = user_create(email="writer-patient-2@example.test", password=DEFAULT_PASSWORD, role="patient")
    tokens = [api_token_create(user=patient, name="writer"), api_token_create(user=second, name="writer")]
    db.session.commit()
    return patient, specialist.id, tokens


def _hour(n: int) -> str:
    """The n-th free hour from a week ahead: 8 a day from 09:00."""
    day = date.today() + timedelta(days=7 + n // 8)
    return datetime.combine(day, time(9 + n % 8), tzinfo=UTC).isoformat()


def _in_a_thread(request):
    """The request served as a server serves it: in a thread of its own, with its own app context
    and session (in the test's thread it would share the test's open transaction)."""
    answer = []
    thread = threading.Thread(target=lambda: answer.append(request()))
    thread.start()
    thread.join(timeout=30)
    return answer[0]


def test_a_post_begins_immediate_and_a_page_view_begins_deferred(sqlite_only, users_committed):
    patient = users_committed[0]
    client = sqlite_only.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = patient.get_id()
        session["_fresh"] = True
    seen: list[str] = []

    def record(_connection):  # beside configure_sqlite's own "begin" hook, which asks the same rule
        seen.append("BEGIN IMMEDIATE" if may_write() else "BEGIN")

    sa.event.listen(db.engine, "begin", record)
    try:
        assert _in_a_thread(lambda: client.get("/patient/")).status_code == 200
        page = list(seen)
        seen.clear()
        _in_a_thread(lambda: client.post("/account", data={"display_name": "Writer", "timezone": "UTC"}))
        post = list(seen)
    finally:
        sa.event.remove(db.engine, "begin", record)
    assert page and set(page) == {"BEGIN"}
    assert post and set(post) == {"BEGIN IMMEDIATE"}


def _locked_app(committed_app, timeout_ms: int):
    """A second app on the same SQLite file whose writers give up after `timeout_ms`."""
    config = {**make_test_config(committed_app.config["SQLALCHEMY_DATABASE_URI"], Path(committed_app.instance_path)),
              "SQLITE_BUSY_TIMEOUT_MS": timeout_ms}
    return create_app(config, instance_path=committed_app.instance_path)


def test_a_writer_waiting_past_the_timeout_answers_503_and_writes_nothing(sqlite_only, users_committed):
    app = _locked_app(sqlite_only, 200)
    patient, specialist, (token, _) = users_committed
    user_id = patient.get_id()
    database = sqlite_only.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    db.session.rollback()  # the test's own read must not hold the file either
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that does not let go
    client = app.test_client()
    try:
        api = _in_a_thread(lambda: client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"},
                                               json={"specialist_id": str(specialist), "starts_at": _hour(0)}))
        with client.session_transaction() as session:
            session["_user_id"] = user_id
        page = _in_a_thread(lambda: client.post("/account", data={"display_name": "Writer", "timezone": "UTC"}))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.get_json()["error"] == "UNAVAILABLE"
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "Nothing was changed" in page.get_data(as_text=True)
    assert "<h1>Please wait a moment</h1>" in page.get_data(as_text=True)
    assert "Something went wrong" not in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.get(User, patient.id).display_name != "Writer"


def test_sixteen_writers_at_once_queue_and_all_succeed(sqlite_only, users_committed):
    """In-process threads on one SQLite file, two patients (a patient may hold 8 upcoming)."""
    app = sqlite_only
    _patient, specialist, tokens = users_committed
    start = threading.Barrier(16)
    results: list[int] = []
    lock = threading.Lock()

    def book(hour: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {tokens[hour % 2]}"},
                               json={"specialist_id": str(specialist), "starts_at": _hour(hour)})
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert Counter(results) == {201: 16}, "sixteen free hours, sixteen bookings, nobody refused"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 16
