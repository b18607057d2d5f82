"""/api/v1/recurring-bookings: create, read, pause/resume/end, delete, under the access rules."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, RecurringBooking

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
    # the occurrences of the 28-day horizon (to 29 Jan) are booked at once: the next is 1 Feb
    assert [b["occurrence_date"] for b in series["booked"]] == ["2027-01-04", "2027-01-11", "2027-01-18",
                                                                "2027-01-25"]
    assert series["booked"][0]["starts_at"] == "2027-01-04T10:00:00+00:00"
    assert series["skipped"] == [] and series["cancelled"] == []
    assert series["next_booking_date"] == "2027-02-01"
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
    assert len(paused["cancelled"]) == 4  # the sessions booked ahead
    # Resumed ten days later (11 Jan, 12:00): the occurrences inside the pause (4 and 11 Jan) are not booked.
    resumed = call("PATCH", one, users["patient"], now=NOW + timedelta(days=10),
                   json={"action": "resume"}).get_json()
    assert resumed["status"] == "active"
    assert [b["occurrence_date"] for b in resumed["booked"]] == ["2027-01-18", "2027-01-25", "2027-02-01",
                                                                 "2027-02-08"]
    assert resumed["next_booking_date"] == "2027-02-15"
    # An end date before the booked sessions cancels them, which only the patient or specialist may do.
    refused = call("PATCH", one, users["admin"], json={"end_date": "2027-01-05"})
    assert refused.status_code == 403 and "4 booked session(s) would be cancelled" in refused.get_json()["message"]
    assert call("GET", one, users["patient"]).get_json()["end_date"] is None
    changed = call("PATCH", one, users["patient"], json={"end_date": "2027-01-05"}).get_json()
    assert changed["end_date"] == "2027-01-05" and changed["status"] == "ended"  # nothing left to book
    assert [b["occurrence_date"] for b in changed["cancelled"]] == ["2027-01-18", "2027-01-25", "2027-02-01",
                                                                    "2027-02-08"]
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


def test_is_active_false_pauses_and_true_resumes(call, users, series):
    one = f"{URL}/{series['id']}"
    paused = call("PATCH", one, users["patient"], json={"is_active": False})
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["status"] == "paused" and paused.get_json()["is_active"] is True
    assert len(paused.get_json()["cancelled"]) == 4
    resumed = call("PATCH", one, users["patient"], json={"is_active": True}).get_json()
    assert resumed["status"] == "active" and len(resumed["booked"]) == 4
    both = call("PATCH", one, users["patient"], json={"is_active": False, "action": "end"})
    assert both.status_code == 422 or both.status_code == 400
    assert call("PATCH", one, users["patient"], json={"is_active": "maybe"}).status_code in (400, 422)
    assert call("PATCH", one, users["specialist"], json={"is_active": False}).status_code == 403


def test_cancel_following_over_the_api(call, users, series):
    url = f"{URL}/{series['id']}/cancel-following"
    response = call("POST", url, users["patient"], json={"from_date": "2027-01-18", "reason": "Moving"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [b["occurrence_date"] for b in body["cancelled"]] == ["2027-01-18", "2027-01-25"]
    assert {b["status"] for b in body["cancelled"]} == {"cancelled"}
    assert body["end_date"] == "2027-01-17" and body["status"] == "ended"
    statuses = dict(db.session.execute(sa.select(Booking.occurrence_date, Booking.status).where(
        Booking.recurring_booking_id == uuid.UUID(series["id"]))).all())
    assert statuses == {date(2027, 1, 4): "confirmed", date(2027, 1, 11): "confirmed",
                        date(2027, 1, 18): "cancelled", date(2027, 1, 25): "cancelled"}


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "from_date"), ({"from_date": "soon", "reason": "x"}, "from_date"),
    ({"from_date": "2027-01-18"}, "reason"), ({"from_date": "2027-01-18", "reason": " "}, "reason"),
    ({"from_date": "2026-01-01", "reason": "x"}, "from_date")])
def test_cancel_following_refuses_bad_input_and_changes_nothing(call, users, series, body, field):
    response = call("POST", f"{URL}/{series['id']}/cancel-following", users["patient"], json=body)
    assert response.status_code in (400, 422)
    payload = response.get_json()
    assert payload["success"] is False and field in payload["fields"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.status == "cancelled")) == 0


def test_cancel_following_is_for_those_who_manage_the_series(call, users, series):
    url = f"{URL}/{series['id']}/cancel-following"
    body = {"from_date": "2027-01-18", "reason": "x"}
    assert call("POST", url, users["specialist"], json=body).status_code == 403
    assert call("POST", url, users["other_patient"], json=body).status_code == 404
