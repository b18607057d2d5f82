from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import clock, create_app
from portal.extensions import db
from portal.models import AuditLog, Booking, RecurringBooking, SpecialistRate, WorkingHours
from tests.conftest import make_test_config

RUN_DAY = date(2030, 1, 7)  # a Monday


@pytest.fixture
def due_series(committed_db, monkeypatch):
    """Four weekly series due today, committed: three the dispatcher books, and one with a
    specialist who has no rate, which it skips. The horizon is today only, so each books once."""
    from portal.services.users import user_create

    patient = user_create(email="patient@ops.test", password="long-password", role="patient")
    specialist = user_create(email="specialist@ops.test", password="long-password", role="specialist")
    unpriced = user_create(email="unpriced@ops.test", password="long-password", role="specialist")
    db.session.add_all([WorkingHours(specialist_id=who.id, weekday=RUN_DAY.weekday(), start_time=time(9),
                                     end_time=time(17)) for who in (specialist, unpriced)])
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal("100"),
                                  currency="USD", effective_from=date(2000, 1, 1)))
    for who, hour in ((specialist, 10), (specialist, 12), (specialist, 14), (unpriced, 10)):
        db.session.add(RecurringBooking(user_id=patient.id, specialist_id=who.id, frequency="weekly",
                                        start_date=RUN_DAY, time_of_day=time(hour), is_active=True,
                                        next_booking_date=RUN_DAY, next_occurrence_index=0))
    db.session.commit()
    monkeypatch.setitem(committed_db.config, "RECURRING_HORIZON_DAYS", 0)
    with clock.frozen(datetime.combine(RUN_DAY, time(6), tzinfo=UTC)):
        yield


@pytest.mark.parametrize("role,status", [("admin", 200), ("ops", 200), ("patient", 403), ("specialist", 403)])
def test_ops_page_access(login_as, users, client, role, status):
    login_as(users[role])
    response = client.get("/admin/ops")
    assert response.status_code == status
    if status == 200:
        html = response.get_data(as_text=True)
        assert "Run dispatcher now" in html and "No Redis is configured" in html


def test_ops_page_requires_login(client):
    response = client.get("/admin/ops")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_dispatch_without_redis_runs_in_process_and_shows_the_result(committed_db, due_series):
    from portal.services.users import user_create

    ops = user_create(email="ops@inline.test", password="long-password", role="ops")
    db.session.commit()
    client = _sign_in(committed_db, ops.id)
    response = client.post("/admin/ops/dispatch", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="job-status"') and "hx-trigger" not in html
    assert '<span class="job-summary">3 bookings created, 1 skipped</span>' in html
    assert "No rates found" in html
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 3
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "dispatcher_run_requested"))
    assert row.actor_id == ops.id and row.new_values == {"status": "finished"}


def test_a_failing_job_shows_its_error(login_as, users, client, monkeypatch):
    def recurring_dispatch(*, run_date=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr("portal.services.recurring.recurring_dispatch", recurring_dispatch)
    login_as(users["admin"])
    html = client.post("/admin/ops/dispatch").get_data(as_text=True)
    assert "The dispatcher failed" in html and "RuntimeError: database went away" in html
    assert "<html" in html  # without htmx the whole page comes back


def test_recent_runs_come_from_the_audit_trail(login_as, users, client):
    from portal.services.audit import audit_record

    audit_record(actor=None, action="recurring_bookings_dispatched", entity_type="recurring_booking",
                 new_values={"dispatched": 5, "errors": 1}, status="success_with_errors")
    audit_record(actor=None, action="recordings_cleaned_up", entity_type="meeting_recording",
                 new_values={"deleted": 2})
    login_as(users["ops"])
    html = client.get("/admin/ops").get_data(as_text=True)
    assert "Recurring bookings dispatched" in html and "5 bookings created, 1 skipped" in html
    last_run = html.split('id="schedule-recurring-dispatch"')[1].split("</tr>")[0]
    assert "Never" not in last_run and "5 bookings created, 1 skipped" in last_run  # the history's row
    assert "Recordings cleaned up" in html and "deleted: 2" in html


@pytest.fixture
def redis_app(database_url, instance_dir, _app):
    """An app with a Redis URL configured (the dashboard is mounted); reachable or not per test."""
    made = []

    def make(url):
        config = make_test_config(database_url, instance_dir)
        config["REDIS_URL"] = url
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _sign_in(app, user_id):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1"  # a new account's session version
        session["_fresh"] = True
    return client


def test_queue_down_keeps_pages_working_and_the_button_says_so(committed_db, redis_app):
    from portal.services.users import user_create

    ops = user_create(email="ops@down.test", password="long-password", role="ops")
    db.session.commit()
    app = redis_app("redis://127.0.0.1:1/7")  # nothing listens there
    client = _sign_in(app, ops.id)
    page = client.get("/admin/ops")
    assert page.status_code == 200 and "Open the queue dashboard" in page.get_data(as_text=True)
    response = client.post("/admin/ops/dispatch", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "not reachable" in html and "Nothing was lost" in html
    assert client.get("/healthz").get_json()["redis"] == "unavailable"
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "dispatcher_run_requested")).all()
        row, = rows
        assert row.status == "failure" and row.new_values == {"error": "QUEUE_UNAVAILABLE"}


@pytest.mark.parametrize("role,status", [("admin", 200), ("ops", 200), ("patient", 404), ("specialist", 404),
                                         (None, 302)])
def test_queue_dashboard_access_by_role(committed_db, redis_app, redis_url, role, status):
    from portal.services.users import user_create

    app = redis_app(redis_url)
    app.config["WTF_CSRF_ENABLED"] = True
    if role:
        user = user_create(email=f"{role}@queues.test", password="long-password", role=role)
        db.session.commit()
        client = _sign_in(app, user.id)
    else:
        client = app.test_client()
    response = client.get("/admin/queues/")
    assert response.status_code == status
    if status == 302:
        assert "/login?next=/admin/queues/" in response.headers["Location"]
    if status == 200:
        assert "_csrf_token=" in response.headers.get("Set-Cookie", "")
        assert client.get("/admin/queues/0/data/queues.json").status_code == 200
        assert client.get("/admin/queues/requeue/portal").status_code == 405
        assert client.post("/admin/queues/requeue/portal").status_code == 400  # no CSRF token
        token = client.get_cookie("_csrf_token", path="/admin/queues").value
        assert client.post("/admin/queues/requeue/portal", headers={"X-CSRFToken": token}).status_code == 200


def test_dispatch_through_real_redis_is_followed_until_done(committed_db, redis_app, redis_url, due_series):
    from rq import SimpleWorker

    from portal.jobs.queue import get_queue
    from portal.services.users import user_create

    ops = user_create(email="ops@redis.test", password="long-password", role="ops")
    db.session.commit()
    app = redis_app(redis_url)
    app.config.update(RQ_QUEUE="ops-dispatch-test", RECURRING_HORIZON_DAYS=0)
    client = _sign_in(app, ops.id)
    html = client.post("/admin/ops/dispatch", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "queued" in html
    import re

    poll = re.search(r'hx-get="([^"]+)"', html).group(1)
    with app.app_context():
        queue = get_queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    done = client.get(poll, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in done and '<span class="job-summary">3 bookings created' in done
    with app.app_context():
        get_queue().empty()


def test_a_job_running_now_shows_running_in_the_schedule(login_as, users, client):
    from portal.services.audit import audit_record
    from portal.services.job_runs import job_run_started

    audit_record(actor=None, action="recurring_bookings_dispatched", entity_type="recurring_booking",
                 new_values={"dispatched": 1, "errors": 0})
    job_run_started(job_id="recurring-dispatch", runner="embedded")
    html = login_as(users["ops"]).get("/admin/ops").get_data(as_text=True)
    row = html.split('id="schedule-recurring-dispatch"')[1].split("</tr>")[0]
    assert "Running…" in row and "1 booking created" not in row
