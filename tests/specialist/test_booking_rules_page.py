"""The "Booking rules" section of Hours and rates, the patient's booking page under the
rules (the refusal in place), and the calm message a page shows over a rate limit."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, SpecialistProfile

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
HX = {"HX-Request": "true"}
RULES = {"max_upcoming_per_patient": "8", "min_notice_hours": "2", "booking_window_days": "365"}


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY - timedelta(days=1)):
        yield


def profile_of(specialist) -> SpecialistProfile:
    db.session.expire_all()
    return db.session.get(SpecialistProfile, specialist.id)


def test_specialist_sets_the_rules_in_their_own_section(client, users, login_as):
    specialist = users["specialist"]
    login_as(specialist)
    page = client.get("/specialist/availability").get_data(as_text=True)
    assert 'id="booking-rules"' in page and 'for="min_notice_hours"' in page and 'value="365"' in page
    response = client.post("/specialist/availability/booking-rules", data={**RULES, "min_notice_hours": "24"})
    assert response.status_code == 302
    assert profile_of(specialist).min_notice_hours == 24
    assert "Booking rules saved." in client.get("/specialist/availability").get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("max_upcoming_per_patient", "0", "Between 1 and 1000."),
    ("min_notice_hours", "two", "A whole number."),
    ("booking_window_days", "{cap_plus_one}", "At most {cap} days"),
])
def test_bad_rules_show_the_error_at_the_field_with_422(app, client, users, login_as, field, value, message):
    cap = app.config["MAX_BOOKING_AHEAD_DAYS"]  # the portal's limit, whatever its default
    value, message = value.format(cap_plus_one=cap + 1), message.format(cap=cap)
    specialist = users["specialist"]
    login_as(specialist)
    response = client.post("/specialist/availability/booking-rules", data={**RULES, field: value}, headers=HX)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert f'id="{field}-error"' in page and 'aria-invalid="true"' in page
    assert (profile_of(specialist).max_upcoming_per_patient, profile_of(specialist).booking_window_days) == (8, 365)


def test_patient_sees_fewer_slots_and_the_refusal_in_place(client, users, login_as, make_booking):
    specialist, patient = users["specialist"], users["patient"]
    login_as(patient)
    url = f"/specialists/{specialist.id}"
    assert "Monday 07 January" in client.get(url).get_data(as_text=True)
    profile = db.session.get(SpecialistProfile, specialist.id)
    profile.min_notice_hours = 48
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Monday 07 January" not in page and "Tuesday 08 January" in page
    refused = client.post(f"{url}/book", data={"starts_at": MONDAY.replace(hour=10).isoformat()}, headers=HX)
    fragment = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "at least 48 hours" in fragment and 'id="slot-list"' in fragment
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_form_posts_over_the_write_limit_get_a_calm_429(app, client, users, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "WRITE_RATE_LIMIT", "2 per minute")
    login_as(users["specialist"])
    for _ in range(2):
        assert client.post("/specialist/availability/booking-rules", data=RULES).status_code == 302
    plain = client.post("/specialist/availability/booking-rules", data=RULES)
    assert plain.status_code == 429 and "Retry-After" in plain.headers
    assert "Nothing is lost: please wait" in plain.get_data(as_text=True)
    swapped = client.post("/specialist/availability/booking-rules", data=RULES, headers=HX)
    assert swapped.status_code == 429 and swapped.headers["HX-Retarget"] == "#rate-notice"
    assert "please wait" in swapped.get_data(as_text=True) and "<html" not in swapped.get_data(as_text=True)
    assert client.get("/specialist/availability").status_code == 200  # reading goes on


def test_booking_page_shows_the_booking_limit_calmly_in_place(app, client, users, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_RATE_LIMIT", "1 per 10 minutes")
    specialist = users["specialist"]
    login_as(users["patient"])
    url = f"/specialists/{specialist.id}/book"
    assert client.post(url, data={"starts_at": MONDAY.replace(hour=10).isoformat()}, headers=HX).status_code == 200
    again = client.post(url, data={"starts_at": MONDAY.replace(hour=12).isoformat()}, headers=HX)
    fragment = again.get_data(as_text=True)
    assert again.status_code == 429 and 'id="slot-list"' in fragment and "please wait" in fragment
    assert int(again.headers["Retry-After"]) > 60


def test_series_page_refuses_a_start_beyond_the_window_in_place(committed_db, client, users, login_as):
    specialist = users["specialist"]
    profile = db.session.get(SpecialistProfile, specialist.id)
    profile.booking_window_days = 14
    db.session.commit()
    login_as(users["patient"])
    response = client.post("/recurring/", data={"specialist_id": str(specialist.id), "frequency": "weekly",
                                                "start_date": "2030-01-28", "time_of_day": "10:00"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "takes bookings up to 14 days ahead" in page
    assert client.post("/recurring/", data={"specialist_id": str(specialist.id), "frequency": "weekly",
                                            "start_date": "2030-01-14", "time_of_day": "10:00"}).status_code == 302
