"""/api/v1/recurring-bookings: create, read, pause/resume/end, delete, under the access rules."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, RecurringBooking

URL = "/api/v1/recurring-bookings"
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)  # a Friday
MONDAY = date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db):
    """The views commit; on SQLite that escapes the rolled-back test transaction."""
    yield


@pytest.fixture
def call(app, api_headers):
    def request(method, url, user=None, now=NOW, **kwargs):
        g.pop("_login_user", None)  # the test's app context outlives requests; Flask-Login caches in g
        headers = api_headers(user) if user else {}
        with clock.frozen(now):
            return app.test_client().open(url, method=method, headers=headers, **kwargs)

    return request


@pytest.fixture
def series(call, users):
    response = call("POST", URL, users["patient"], json={
        "specialist_id": str(users["specialist"].id), "frequency": "weekly", "start_date": MONDAY.isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_patient_creates_a_series_at_ten_by_default(series, users):
    assert series["time_of_day"] == "10:00" and series["status"] == "active"
    assert series["next_booking_date"] == MONDAY.isoformat()
    assert series["user_id"] == str(users["patient"].id)
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "recurring_booking_created")).one()
    assert audit.entity_id == series["id"]


@pytest.mark.parametrize("body, field", [
    ({"frequency": "daily"}, "frequency"),
    ({"start_date": "soon"}, "start_date"),
    ({"end_date": "2026-12-01"}, "end_date"),
    ({"time_of_day": "20:00"}, "start_date"),  # outside working hours: the first session is not bookable
    ({"start_date": "2027-01-02"}, "start_date"),  # a Saturday
])
def test_invalid_series_are_refused_with_a_field_error(call, users, body, field):
    payload = {"specialist_id": str(users["specialist"].id), "frequency": "weekly",
               "start_date": MONDAY.isoformat(), **body}
    response = call("POST", URL, users["patient"], json=payload)
    assert response.status_code in (400, 409)
    assert field in response.get_json()["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBooking)) == 0


def test_unknown_specialist_is_404(call, users):
    response = call("POST", URL, users["patient"], json={
        "specialist_id": str(users["patient"].id), "frequency": "weekly", "start_date": MONDAY.isoformat()})
    assert response.status_code == 404


def test_who_sees_and_who_manages(call, users, series):
    one = f"{URL}/{series['id']}"
    assert call("GET", one).status_code == 401
    assert call("GET", one, users["patient"]).status_code == 200
    assert call("GET", one, users["specialist"]).status_code == 200
    assert call("GET", one, users["admin"]).status_code == 200
    assert call("GET", one, users["other_patient"]).status_code == 404
    assert call("GET", one, users["other_specialist"]).status_code == 404
    assert call("PATCH", one, users["specialist"], json={"action": "pause"}).status_code == 403
    assert call("DELETE", one, users["specialist"]).status_code == 403
    assert [s["id"] for s in call("GET", URL, users["specialist"]).get_json()["items"]] == [series["id"]]
    assert call("GET", URL, users["other_patient"]).get_json()["items"] == []


def test_pause_resume_end_and_end_date(call, users, series):
    one = f"{URL}/{series['id']}"
    paused = call("PATCH", one, users["patient"], json={"action": "pause"}).get_json()
    assert paused["status"] == "paused" and paused["paused_at"]
    # Resumed ten days later: the occurrence inside the pause (4 Jan) is not booked.
    resumed = call("PATCH", one, users["patient"], now=NOW + timedelta(days=10),
                   json={"action": "resume"}).get_json()
    assert resumed["status"] == "active" and resumed["next_booking_date"] == "2027-01-11"
    changed = call("PATCH", one, users["admin"], json={"end_date": "2027-01-05"}).get_json()
    assert changed["end_date"] == "2027-01-05" and changed["status"] == "ended"  # nothing left to book
    assert call("PATCH", one, users["patient"], json={"action": "resume"}).status_code == 409
    assert call("PATCH", one, users["patient"], json={"action": "end"}).get_json()["status"] == "ended"


def test_end_date_before_start_is_refused(call, users, series):
    response = call("PATCH", f"{URL}/{series['id']}", users["patient"], json={"end_date": "2026-12-31"})
    assert response.status_code == 400 and "end_date" in response.get_json()["fields"]


def test_patient_deletes_own_series(call, users, series):
    one = f"{URL}/{series['id']}"
    assert call("DELETE", one, users["other_patient"]).status_code == 404
    assert call("DELETE", one, users["patient"]).status_code == 204
    assert call("GET", one, users["patient"]).status_code == 404


def test_admin_creates_for_a_patient_but_a_patient_not_for_another(call, users):
    body = {"specialist_id": str(users["specialist"].id), "frequency": "monthly",
            "start_date": MONDAY.isoformat(), "user_id": str(users["other_patient"].id)}
    assert call("POST", URL, users["patient"], json=body).status_code == 403
    made = call("POST", URL, users["admin"], json=body)
    assert made.status_code == 201 and made.get_json()["user_id"] == str(users["other_patient"].id)
