"""/admin/bookings: every booking, filtered by person, status, dates and series, paged, and its CSV
holding exactly what is filtered; each admin user page lists that person's bookings."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.models import RecurringBooking

NOW = datetime(2030, 1, 6, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def world(users, make_booking):
    p, q, s, t = users["patient"], users["other_patient"], users["specialist"], users["other_specialist"]
    series = RecurringBooking(user_id=q.id, specialist_id=t.id, frequency="weekly", start_date=NOW.date())
    db.session.add(series)
    db.session.flush()
    return {
        "p_s_past": make_booking(p, s, NOW - timedelta(days=3)),
        "p_s_cancelled": make_booking(p, s, NOW + timedelta(days=2), status="cancelled"),
        "p_t_future": make_booking(p, t, NOW + timedelta(days=4)),
        "q_t_series": make_booking(q, t, NOW + timedelta(days=5), recurring_booking_id=series.id),
        "q_s_no_show": make_booking(q, s, NOW - timedelta(days=10), status="no_show"),
    }


def ids_in(html: str, world: dict) -> set[str]:
    return {name for name, b in world.items() if f'id="booking-{b.id}"' in html}


def csv_ids(text: str, world: dict) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    by_id = {str(b.id): name for name, b in world.items()}
    return {by_id[row["booking_id"]] for row in rows}


@pytest.mark.parametrize("args, expected", [
    ({}, {"p_s_past", "p_s_cancelled", "p_t_future", "q_t_series", "q_s_no_show"}),
    ({"patient": "pat one"}, {"p_s_past", "p_s_cancelled", "p_t_future"}),
    ({"specialist": "SPEC TWO"}, {"p_t_future", "q_t_series"}),
    ({"status": "no_show"}, {"q_s_no_show"}),
    ({"date_from": "2030-01-06", "date_to": "2030-01-10"}, {"p_s_cancelled", "p_t_future"}),
    ({"series": "series"}, {"q_t_series"}),
    ({"series": "single", "status": "confirmed", "specialist": "spec one"}, {"p_s_past"}),
])
def test_filters_and_the_csv_show_exactly_the_same_bookings(login_as, users, world, args, expected):
    client = login_as(users["admin"])
    page = client.get("/admin/bookings", query_string=args)
    assert page.status_code == 200 and ids_in(page.text, world) == expected
    exported = client.get("/admin/bookings.csv", query_string=args)
    assert exported.mimetype == "text/csv" and csv_ids(exported.text, world) == expected
    assert f'{len(expected)} booking' in page.text


def test_the_page_links_its_csv_with_the_same_filters_and_pages(login_as, users, world):
    client = login_as(users["admin"])
    html = client.get("/admin/bookings", query_string={"patient": "pat one", "status": "confirmed"}).text
    assert "/admin/bookings.csv?patient=pat+one&amp;status=confirmed" in html
    fragment = client.get("/admin/bookings?per_page=2", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<section class="card" id="booking-results"')


def test_a_spreadsheet_never_runs_a_name_as_a_formula(login_as, users, make_user, make_booking):
    sneaky = make_user("patient", name="=HYPERLINK(1)")
    make_booking(sneaky, users["specialist"], NOW + timedelta(days=1))
    text = login_as(users["admin"]).get("/admin/bookings.csv").text
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize("who", ["patient", "specialist", "ops"])
def test_only_admins_see_every_booking(login_as, users, who):
    assert login_as(users[who]).get("/admin/bookings").status_code in (403, 404)
    assert login_as(users[who]).get("/admin/bookings.csv").status_code in (403, 404)


def test_an_admin_user_page_lists_that_persons_bookings(login_as, users, world):
    client = login_as(users["admin"])
    patient_page = client.get(f"/admin/users/{users['patient'].id}").text
    assert ids_in(patient_page, world) == {"p_s_past", "p_s_cancelled", "p_t_future"}
    assert "All of Pat One" in patient_page
    specialist_page = client.get(f"/admin/users/{users['other_specialist'].id}").text
    assert ids_in(specialist_page, world) == {"p_t_future", "q_t_series"}
