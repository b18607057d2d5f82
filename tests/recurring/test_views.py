"""Recurring series pages: list, create, pause/resume/end/delete in place, the series page."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import Booking, RecurringBooking, RecurringOccurrenceSkip

NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _emptied_afterwards(committed_db):
    """The views commit; on SQLite that escapes the rolled-back test transaction."""
    yield


@pytest.fixture
def as_user(app, login_as):
    def client_for(user):
        g.pop("_login_user", None)  # Flask-Login caches the user in the test's long-lived app context
        return login_as(user)

    return client_for


@pytest.fixture
def series(users):
    made = RecurringBooking(user_id=users["patient"].id, specialist_id=users["specialist"].id,
                            frequency="weekly", start_date=date(2027, 1, 4), time_of_day=time(10),
                            is_active=True, next_booking_date=date(2027, 1, 4), next_occurrence_index=0)
    db.session.add(made)
    db.session.flush()
    return made


def test_patient_sets_up_a_series_from_the_form(as_user, users):
    client = as_user(users["patient"])
    page = client.get("/recurring/").get_data(as_text=True)
    assert "Set up a recurring session" in page and "You have no recurring sessions yet." in page
    with clock.frozen(NOW):
        response = client.post("/recurring/", data={
            "specialist_id": str(users["specialist"].id), "frequency": "biweekly",
            "start_date": "2027-01-04", "time_of_day": "11:00"})
    assert response.status_code == 302
    with clock.frozen(NOW):
        detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every 2 weeks with Spec One" in detail and "11:00" in detail and "No sessions skipped." in detail
    # booked at once: 4 and 18 January fall inside the 28-day horizon
    assert "Your recurring session is set up. 2 sessions booked." in detail
    assert "<dt>Next session</dt><dd>Mon 04 Jan 2027, 11:00</dd>" in detail
    assert "<dt>Next to book</dt><dd>Mon 01 Feb 2027</dd>" in detail
    assert detail.count("Cancel this and following") == 2
    assert "2 booked sessions will be cancelled." in detail


def test_the_page_says_which_sessions_could_not_be_booked_and_why(as_user, users, make_booking):
    make_booking(users["other_patient"], users["specialist"], datetime(2027, 1, 11, 10, tzinfo=UTC))
    client = as_user(users["patient"])
    with clock.frozen(NOW):
        response = client.post("/recurring/", data={
            "specialist_id": str(users["specialist"].id), "frequency": "weekly",
            "start_date": "2027-01-04", "time_of_day": "10:00"})
        detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 sessions booked. 1 session could not be booked (see Skipped sessions for why)." in detail
    assert "Mon 11 Jan 2027" in detail and "Slot taken" in detail


def test_pause_says_first_how_many_sessions_go_then_cancels_them(as_user, users):
    client = as_user(users["patient"])
    with clock.frozen(NOW):
        client.post("/recurring/", data={"specialist_id": str(users["specialist"].id), "frequency": "weekly",
                                         "start_date": "2027-01-04", "time_of_day": "10:00"})
        listing = client.get("/recurring/").get_data(as_text=True)
        assert "Stops booking new sessions until you resume. 4 booked sessions will be cancelled." in listing
        assert 'hx-confirm="Pause this series? 4 booked sessions will be cancelled."' in listing
        series = db.session.scalars(sa.select(RecurringBooking)).one()
        client.post(f"/recurring/{series.id}/pause")
        page = client.get(f"/recurring/{series.id}").get_data(as_text=True)
    assert "The series is paused. 4 sessions cancelled." in page
    assert "Cancel this and following" not in page
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(Booking.status)).all()) == {"cancelled"}
    with clock.frozen(NOW):
        client.post(f"/recurring/{series.id}/resume")
        page = client.get(f"/recurring/{series.id}").get_data(as_text=True)
    assert "The series is running again. 4 sessions booked." in page


def test_cancel_this_and_following_from_the_series_page(as_user, users):
    client = as_user(users["patient"])
    with clock.frozen(NOW):
        client.post("/recurring/", data={"specialist_id": str(users["specialist"].id), "frequency": "weekly",
                                         "start_date": "2027-01-04", "time_of_day": "10:00"})
        series = db.session.scalars(sa.select(RecurringBooking)).one()
        refused = client.post(f"/recurring/{series.id}/cancel-following",
                              data={"from_date": "2027-01-18", "reason": ""})
        assert refused.status_code == 422 and "Please give a reason" in refused.get_data(as_text=True)
        response = client.post(f"/recurring/{series.id}/cancel-following",
                               data={"from_date": "2027-01-18", "reason": "Moving away"})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The series now ends before Mon 18 Jan 2027. 2 sessions cancelled." in page
    db.session.expire_all()
    assert dict(db.session.execute(sa.select(Booking.occurrence_date, Booking.status)).all()) == {
        date(2027, 1, 4): "confirmed", date(2027, 1, 11): "confirmed",
        date(2027, 1, 18): "cancelled", date(2027, 1, 25): "cancelled"}


def test_a_first_session_that_cannot_be_booked_is_explained(as_user, users):
    client = as_user(users["patient"])
    with clock.frozen(NOW):
        response = client.post("/recurring/", data={
            "specialist_id": str(users["specialist"].id), "frequency": "weekly",
            "start_date": "2027-01-02", "time_of_day": "10:00"})  # a Saturday
    assert response.status_code == 422
    assert "The first session cannot be booked" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBooking)) == 0


def test_pause_and_resume_in_place(as_user, users, series):
    client = as_user(users["patient"])
    with clock.frozen(NOW):
        fragment = client.post(f"/recurring/{series.id}/pause", data={"view": "list"}, headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith('<section class="card" id="series-list">')
    assert "Paused" in html and "Resume" in html
    with clock.frozen(NOW):
        html = client.post(f"/recurring/{series.id}/resume", headers=HTMX).get_data(as_text=True)
    assert 'id="series-summary"' in html and "Active" in html


def test_end_and_delete_without_javascript(as_user, users, series):
    client = as_user(users["patient"])
    assert client.post(f"/recurring/{series.id}/end").status_code == 302
    assert "Ended" in client.get(f"/recurring/{series.id}").get_data(as_text=True)
    assert client.post(f"/recurring/{series.id}/delete").headers["Location"] == "/recurring/"
    assert client.get(f"/recurring/{series.id}").status_code == 404


def test_specialist_sees_the_series_but_cannot_change_it(as_user, users, series):
    client = as_user(users["specialist"])
    page = client.get("/recurring/").get_data(as_text=True)
    assert "Pat One" in page and "Set up a recurring session" not in page and "Pause" not in page
    assert client.post(f"/recurring/{series.id}/pause").status_code == 403
    assert client.post("/recurring/", data={}).status_code == 403


def test_others_do_not_see_the_series(as_user, users, series):
    assert as_user(users["other_patient"]).get(f"/recurring/{series.id}").status_code == 404
    assert as_user(users["other_specialist"]).get(f"/recurring/{series.id}").status_code == 404
    assert as_user(users["ops"]).get("/recurring/").status_code == 403
    assert as_user(users["admin"]).get(f"/recurring/{series.id}").status_code == 200


def test_series_page_shows_skipped_sessions_and_why(as_user, users, series):
    db.session.add(RecurringOccurrenceSkip(recurring_booking_id=series.id, occurrence_date=date(2027, 1, 4),
                                           reason="Specialist unavailable"))
    db.session.flush()
    page = as_user(users["patient"]).get(f"/recurring/{series.id}").get_data(as_text=True)
    assert "Mon 04 Jan 2027" in page and "Specialist unavailable" in page
