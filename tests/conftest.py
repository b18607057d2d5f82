"""Test fixtures.

The schema is built once per session by running the migrations, on SQLite by
default or on a scratch PostgreSQL database when DATABASE_URL names one.
Each test runs inside a transaction that is rolled back (requests made with
the test client join it through savepoints). Tests that need real commits
(races, the live server of the browser tests) use `committed_db`, which
empties every table afterwards. The live server (`live_portal`) is gunicorn serving an app
built from the same settings, started once per session.

REQUIRE_POSTGRES / REQUIRE_REDIS / REQUIRE_BROWSER=1 turn "skip because the
service is missing" into a failure: CI sets them.
"""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient, FlaskCliRunner
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession

from portal import create_app
from portal.extensions import db, limiter
from portal.models import (
    Booking,
    BookingStatusHistory,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.models.row_security import restore_owner
from tests import scratch_db
from tests.live_app import FAST_PASSWORD_HASH
from tests.live_server import LiveServer, serving

DEFAULT_PASSWORD = "correct-horse-battery"
TEST_RECORDINGS_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes, tests only
WEEKDAY_HOURS = {d: [("09:00", "17:00")] for d in range(5)}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        return scratch_db.create(url, "portal_test")  # this process's own: parallel runs never collide
    if _flag("REQUIRE_POSTGRES"):
        pytest.exit("REQUIRE_POSTGRES is set but DATABASE_URL does not name PostgreSQL", returncode=3)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def make_test_config(database_url: str, instance_dir) -> dict:
    return {
        "TESTING": True,
        "STRICT_WRITE_INTENT": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # The suite writes a lot; the rate-limit tests set small limits themselves.
        "WRITE_RATE_LIMIT": "100000 per minute",
        "BOOKING_RATE_LIMIT": "100000 per minute",
        "REDIS_URL": None,
        "RECORDINGS_DIR": str(instance_dir / "recordings"),
        "RECORDINGS_KEY": TEST_RECORDINGS_KEY,
        "SERVER_NAME": None,
    }


def pytest_sessionstart(session):
    """With REQUIRE_* set (CI), a missing service fails the run before any test, even one
    that no collected test happens to ask for."""
    problems = []
    if _flag("REQUIRE_POSTGRES") and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        problems.append("REQUIRE_POSTGRES is set but DATABASE_URL does not name PostgreSQL")
    if _flag("REQUIRE_REDIS"):
        problems += _redis_problem(os.environ.get("REDIS_URL"))
    if _flag("REQUIRE_BROWSER"):
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        if not os.access(chromium, os.X_OK):
            problems.append(f"REQUIRE_BROWSER is set but Chromium is not installed at {chromium}")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


def _redis_problem(url: str | None) -> list[str]:
    if not url:
        return ["REQUIRE_REDIS is set but REDIS_URL is not"]
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return [f"REQUIRE_REDIS is set but Redis at {url} does not answer: {error}"]
    return []


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashes():
    """Cheap hashes for the thousands of test users; production keeps werkzeug's strong default."""
    from functools import partial

    import portal.services.users as users_service

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users_service, "generate_password_hash",
                      partial(users_service.generate_password_hash, method=FAST_PASSWORD_HASH))
        yield


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    yield url
    if url.startswith("postgresql"):
        scratch_db.drop(url)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["PORTAL_INSTANCE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def _app(database_url, instance_dir):
    """One app per test session, its schema built by the migrations."""
    from flask_migrate import upgrade

    app = create_app(make_test_config(database_url, instance_dir), instance_path=str(instance_dir))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


class ConnectionBoundSession(FlaskSQLAlchemySession):
    """A session that always uses the test's connection.

    Flask-SQLAlchemy's Session.get_bind picks the engine by the model's bind
    key and ignores `bind=`, so without this each session would take a fresh
    connection from the pool and a view's commit would really commit."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def app(_app):
    """The app, with every database change of the test rolled back afterwards."""
    with _app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": ConnectionBoundSession}
        )
        original, db.session = db.session, session
        limiter.reset()
        try:
            yield _app
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture(scope="session")
def live_portal(_app, database_url, instance_dir, tmp_path_factory):
    """The portal under gunicorn with the session app's settings, CSRF checked as in production."""
    config = make_test_config(database_url, instance_dir) | {"WTF_CSRF_ENABLED": True}
    with serving(config, str(instance_dir), tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def live_server(live_portal: LiveServer, committed_db):
    """The live server's base URL for one test; its data is committed and emptied afterwards."""
    live_portal.next_test()
    yield live_portal.url
    live_portal.next_test()


@pytest.fixture
def committed_db(_app):
    """For tests that need real commits seen by other connections; cleans up after."""
    with _app.app_context():
        limiter.reset()
        yield _app
        db.session.remove()
        truncate_all()


def truncate_all() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))


class PortalTestClient(FlaskClient):
    """Gives each request a fresh `g`, as a real request has.

    The test's app context is reused by the requests (so they share its
    session), and without this Flask-Login's cached user in `g` would
    survive from one request to the next: signing in as someone else, or
    deactivating the user, would go unnoticed."""

    def open(self, *args, **kwargs):
        ctx = _cv_app.get(None)
        if ctx is not None:
            ctx.g = ctx.app.app_ctx_globals_class()
        keep_fixture_rows()
        try:
            return super().open(*args, **kwargs)
        finally:
            # The request's transaction may still be open (a read ends with the session): the
            # test reads on in it as the owner, as it set up.
            restore_owner()


class PortalCliRunner(FlaskCliRunner):
    def invoke(self, *args, **kwargs):
        keep_fixture_rows()
        return super().invoke(*args, **kwargs)


def keep_fixture_rows() -> None:
    """Commit what the test has set up so far.

    Inside the `app` fixture a commit only releases a SAVEPOINT: the test's
    outer transaction still rolls everything back at the end. Without it, a
    rollback in the code under test (a refused form, audit_failure, a CLI
    error) would also undo the rows the test had prepared."""
    if _cv_app.get(None) is None:
        return
    if db.session().in_nested_transaction():
        db.session.flush()  # inside the test's own begin_nested(): leave it to the test
    else:
        db.session.commit()


@pytest.fixture
def client(app):
    app.test_client_class = PortalTestClient
    return app.test_client()


@pytest.fixture
def runner(app):
    app.test_cli_runner_class = PortalCliRunner
    return app.test_cli_runner()


def _hm(value: str) -> time:
    return time.fromisoformat(value)


@pytest.fixture
def make_user(app):
    from portal.services.users import user_create

    def make(role: str = "patient", *, email: str | None = None, password: str = DEFAULT_PASSWORD,
             name: str | None = None, timezone: str = "UTC") -> User:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.test"
        user = user_create(email=email, password=password, role=role, display_name=name,
                           timezone=timezone)
        keep_fixture_rows()
        return user

    return make


@pytest.fixture
def make_specialist(make_user):
    """A specialist with weekly hours (specialist's zone) and a current rate."""

    def make(*, timezone: str = "UTC", hours: dict | None = WEEKDAY_HOURS, minutes: int = 60,
             price: str = "100.00", currency: str = "USD", rate: bool = True, **kwargs) -> User:
        user = make_user("specialist", timezone=timezone, **kwargs)
        for weekday, ranges in (hours or {}).items():
            for start, end in ranges:
                db.session.add(WorkingHours(specialist_id=user.id, weekday=weekday,
                                            start_time=_hm(start), end_time=_hm(end)))
        if rate:
            db.session.add(SpecialistRate(specialist_id=user.id, duration_minutes=minutes,
                                          price=Decimal(price), currency=currency,
                                          effective_from=datetime(2000, 1, 1).date()))
        keep_fixture_rows()
        return user

    return make


@pytest.fixture
def make_booking(app):
    """A booking written directly (no rules checked): for past bookings and fixtures."""

    def make(patient: User, specialist: User, starts_at: datetime | None = None, *, minutes: int = 60,
             status: str = "confirmed", price: str = "100.00", currency: str = "USD", **kwargs) -> Booking:
        starts_at = starts_at or (datetime.now(UTC) + timedelta(days=3)).replace(
            minute=0, second=0, microsecond=0)
        booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=minutes), status=status,
                          price=Decimal(price), currency=currency, **kwargs)
        db.session.add(booking)
        db.session.flush()
        db.session.add(BookingStatusHistory(booking_id=booking.id, from_status=None, to_status=status))
        keep_fixture_rows()
        return booking

    return make


@pytest.fixture
def consent_to_recording(app):
    """The patient's live consent to being recorded by the specialist (RECORDING_CONSENT_REQUIRED)."""
    from portal.models import Consent

    def consent(patient: User, specialist: User) -> Consent:
        row = Consent(patient_id=patient.id, kind="recording", specialist_id=specialist.id)
        db.session.add(row)
        db.session.flush()
        keep_fixture_rows()
        return row

    return consent


@pytest.fixture
def login_as(client):
    """Sign the test client in as `user` (by session, as a browser would be)."""

    def login(user: User):
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return login


@pytest.fixture
def api_headers(app):
    """Bearer-token headers for `user`."""
    from portal.services.users import api_token_create

    def headers(user: User) -> dict:
        token = api_token_create(user=user, name="test")
        keep_fixture_rows()
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def users(make_user, make_specialist):
    """One user of every role (and a second patient and specialist)."""
    return {
        "patient": make_user("patient", name="Pat One"),
        "other_patient": make_user("patient", name="Pat Two"),
        "specialist": make_specialist(name="Spec One"),
        "other_specialist": make_specialist(name="Spec Two"),
        "admin": make_user("admin", name="Ada Admin"),
        "ops": make_user("ops", name="Otto Ops"),
    }


def require_or_skip(flag: str, reason: str):
    if _flag(flag):
        pytest.fail(f"{flag} is set but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        require_or_skip("REQUIRE_REDIS", "this test needs Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        require_or_skip("REQUIRE_REDIS", f"Redis at {url} does not answer: {error}")
    return url
