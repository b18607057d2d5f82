"""The clinic's front door as a stranger meets it: the directory, a specialist's page and a chosen
time's review without an account, the way back to that review through signing in or up (and the
confirmation e-mail), the API's public reads, their own rate limit, and cached times that change
as soon as the specialist's hours, exceptions, services or bookings do."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.extensions import db
from portal.models import Booking, BookingPackage, User
from portal.services.offerings import service_create
from tests.account.mail import outbox_rows, rendered_text

SUNDAY = datetime(2030, 1, 6, 12, tzinfo=UTC)
PASSWORD = "a long enough passphrase 42"


@pytest.fixture(autouse=True)
def _sunday():
    with clock.frozen(SUNDAY):
        yield


@pytest.fixture
def clinic(users):
    specialist = users["specialist"]
    specialist.specialist_profile.title = "Sports physiotherapist"
    service_create(actor=specialist, specialist_id=specialist.id, name="Dry needling", duration_minutes=30,
                   price="45.00", currency="EUR", description="For stubborn knots")
    for name, active in (("Four sessions", True), ("Retired bundle", False)):
        db.session.add(BookingPackage(specialist_id=specialist.id, name=name, description="", session_count=4,
                                      price=360, currency="USD", discount_percentage=10, is_active=active))
    db.session.commit()
    return specialist


def text_of(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.headers.get("Location"))
    return response.get_data(as_text=True)


def first_slot(page: str) -> str:
    return re.search(r'name="starts_at" value="([^"]+)"', page).group(1)


def review_path(specialist, starts_at: str) -> str:
    return f"/specialists/{specialist.id}/review?starts_at={quote(starts_at)}"


def test_a_stranger_finds_specialists_by_name_title_and_service(client, clinic, users):
    for query in ("Spec One", "physio", "needling"):
        page = text_of(client, f"/specialists?q={query}")
        assert "Spec One" in page and "Spec Two" not in page, query
    assert "Spec One" in text_of(client, "/specialists") and "Spec Two" in text_of(client, "/specialists")
    assert "No specialist matches" in text_of(client, "/specialists?q=nobody%25")
    assert client.get("/api/v1/specialists?q=needling").get_json()["items"][0]["display_name"] == "Spec One"


def test_a_stranger_sees_the_profile_services_packages_and_a_week_of_times(client, clinic):
    page = text_of(client, f"/specialists/{clinic.id}")
    assert "Sports physiotherapist" in page and "Dry needling" in page and "45.00 EUR" in page
    assert "Four sessions" in page and "Retired bundle" not in page
    assert "06 Jan – 12 Jan 2030" in page and "Next week" in page and 'name="starts_at"' in page
    assert "Sign in" in page and "Sign out" not in page and "Your packages" not in page


def test_a_strangers_review_asks_to_sign_in_or_up_and_confirm_needs_a_patient(client, clinic):
    starts_at = first_slot(text_of(client, f"/specialists/{clinic.id}"))
    review = text_of(client, review_path(clinic, starts_at))
    assert "Check and confirm" in review and ">Confirm<" not in review
    section = review[review.index('id="review-sign-in"'):]
    for page in ("login", "signup"):
        href = re.search(rf'href="(/{page}\?next=[^"]+)"', section).group(1)
        assert parse_qs(urlsplit(href).query)["next"] == [review_path(clinic, starts_at)], page
    refused = client.post(f"/specialists/{clinic.id}/book", data={"starts_at": starts_at})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login?next=")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_signing_in_returns_to_the_review_with_the_time_still_chosen(client, clinic, make_user):
    patient = make_user("patient", email="returning@example.test", password=PASSWORD, name="Ruth Returning")
    db.session.commit()
    starts_at = first_slot(text_of(client, f"/specialists/{clinic.id}"))
    review = review_path(clinic, starts_at)
    signed_in = client.post(f"/login?next={quote(review, safe='')}",
                            data={"email": patient.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == review
    g.pop("_login_user", None)
    page = text_of(client, review)
    assert ">Confirm<" in page and f'name="starts_at" value="{starts_at}"' in page


def test_a_new_account_confirms_its_address_and_comes_back_to_book_the_chosen_time(app, client, clinic):
    starts_at = first_slot(text_of(client, f"/specialists/{clinic.id}"))
    review = review_path(clinic, starts_at)
    form = text_of(client, f"/signup?next={quote(review, safe='')}")
    action = re.search(r'<form class="form" method="post" action="([^"]+)"', form).group(1)
    assert parse_qs(urlsplit(action.replace("&amp;", "&")).query)["next"] == [review]
    sent = client.post(f"/signup?next={quote(review, safe='')}", data={
        "display_name": "Nina New", "email": "nina@example.test", "password": PASSWORD, "timezone": "UTC"})
    assert sent.status_code == 200 and "Check your inbox" in sent.get_data(as_text=True)
    [row] = outbox_rows("account_confirm")
    link = re.search(r"https?://\S+/confirm/\S+", rendered_text(app, row)[1]).group(0)
    confirm = link.split("://", 1)[1].split("/", 1)[1]
    confirmed = client.get("/" + confirm)
    assert confirmed.status_code == 302
    assert parse_qs(urlsplit(confirmed.headers["Location"]).query)["next"] == [review]
    signed_in = client.post(confirmed.headers["Location"], data={"email": "nina@example.test", "password": PASSWORD})
    assert signed_in.headers["Location"] == review
    g.pop("_login_user", None)
    assert ">Confirm<" in text_of(client, review)
    booked = client.post(f"/specialists/{clinic.id}/book", data={"starts_at": starts_at})
    assert booked.status_code == 302
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booking.starts_at == datetime.fromisoformat(starts_at)
    assert db.session.get(User, booking.patient_id).email == "nina@example.test"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\t/evil.example", "javascript:x"])
def test_a_next_leading_elsewhere_is_dropped(app, client, make_user, target):
    patient = make_user("patient", email="pat@example.test", password=PASSWORD)
    db.session.commit()
    client.post(f"/signup?next={quote(target, safe='')}", data={
        "display_name": "Nina New", "email": "nina@example.test", "password": PASSWORD, "timezone": "UTC"})
    [row] = outbox_rows("account_confirm")
    assert "next" not in row.about and "evil" not in rendered_text(app, row)[1]
    signed_in = client.post(f"/login?next={quote(target, safe='')}", data={"email": patient.email,
                                                                           "password": PASSWORD})
    assert signed_in.headers["Location"] == "/patient/"


def test_the_apis_package_service_specialist_and_slot_reads_answer_signed_out(client, clinic, users):
    packages = client.get(f"/api/v1/booking-packages?specialist_id={clinic.id}").get_json()["items"]
    assert [p["name"] for p in packages] == ["Four sessions"]
    assert client.get(f"/api/v1/booking-packages/{packages[0]['id']}").get_json()["name"] == "Four sessions"
    retired = db.session.scalar(sa.select(BookingPackage.id).where(BookingPackage.name == "Retired bundle"))
    assert client.get(f"/api/v1/booking-packages/{retired}").status_code == 404
    services = client.get(f"/api/v1/specialists/{clinic.id}/services").get_json()
    assert {s["name"] for s in services} == {"Session", "Dry needling"}
    slots = client.get(f"/api/v1/specialists/{clinic.id}/slots?from=2030-01-07&to=2030-01-07").get_json()
    assert slots and slots[0]["starts_at"].startswith("2030-01-07T")
    assert client.get(f"/api/v1/specialists/{users['patient'].id}/slots?from=2030-01-07&to=2030-01-07"
                      ).status_code == 404  # a patient is no specialist, and strangers learn nothing of them
    for path in ("/api/v1/me", "/api/v1/bookings", f"/api/v1/specialists/{clinic.id}/working-hours",
                 f"/api/v1/specialists/{clinic.id}/rates", "/api/v1/availability-exceptions",
                 "/api/v1/package-enrolments"):
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["error"] == "UNAUTHORIZED", path
    assert client.post("/api/v1/booking-packages", json={}).status_code == 401
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/booking-packages"]["get"]["security"] == []  # documented as public
    assert "security" not in paths["/api/v1/booking-packages"]["post"]


def test_signed_out_reads_have_their_own_limit_per_address(app, client, clinic, users, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_READ_RATE_LIMIT", "3 per minute")
    for path in ("/specialists", f"/specialists/{clinic.id}", "/api/v1/booking-packages"):
        assert client.get(path).status_code == 200
    over = client.get("/api/v1/specialists")
    assert over.status_code == 429 and over.get_json()["error"] == "RATE_LIMITED" and over.headers["Retry-After"]
    assert client.get("/specialists").status_code == 429
    assert client.get("/login").status_code == 200  # sign-in stays open to a busy address
    elsewhere = app.test_client()
    assert elsewhere.get("/specialists", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200
    login_as(users["patient"])
    assert all(client.get("/specialists").status_code == 200 for _ in range(5))  # signed in: not counted


def slot_starts(client, specialist, day="2030-01-07") -> list[str]:
    return [s["starts_at"] for s in client.get(f"/api/v1/specialists/{specialist.id}/slots?from={day}&to={day}"
                                                ).get_json()]


def test_cached_times_follow_bookings_exceptions_services_and_hours_at_once(
        app, client, clinic, users, api_headers):
    stranger = app.test_client()
    before = slot_starts(stranger, clinic)
    assert before[0] == "2030-01-07T09:00:00+00:00" and slot_starts(stranger, clinic) == before  # cached
    patient = api_headers(users["patient"])
    booked = client.post("/api/v1/bookings", headers=patient,
                         json={"specialist_id": str(clinic.id), "starts_at": before[0]})
    assert booked.status_code == 201, booked.get_json()
    assert before[0] not in slot_starts(stranger, clinic)
    cancelled = client.post("/functions/booking-cancel", headers=patient,
                            json={"booking_id": booked.get_json()["id"], "reason": "cannot come"})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert slot_starts(stranger, clinic) == before
    own = api_headers(clinic)
    services = client.get(f"/api/v1/specialists/{clinic.id}/services", headers=own).get_json()
    default = next(s for s in services if s["is_default"])
    assert client.patch(f"/api/v1/services/{default['id']}", headers=own,
                        json={"duration_minutes": 120}).status_code == 200
    longer = slot_starts(stranger, clinic)
    assert longer != [s for s in before if s != before[0]] and len(longer) < len(before) - 1
    assert client.put(f"/api/v1/specialists/{clinic.id}/working-hours", headers=own,
                      json=[{"weekday": 0, "start": "13:00", "end": "17:00"}]).status_code == 200
    assert all(s >= "2030-01-07T13:00" for s in slot_starts(stranger, clinic))
    day_off = client.post("/api/v1/availability-exceptions", headers=own,
                          json={"exception_date": "2030-01-07", "reason": "sick_leave"})
    assert day_off.status_code == 201, day_off.get_json()
    assert slot_starts(stranger, clinic) == []


def test_strangers_times_are_served_from_the_cache_until_the_specialists_version_moves(app, clinic):
    from portal.models import WorkingHours
    from portal.selectors.public_cache import touch

    stranger = app.test_client()
    before = slot_starts(stranger, clinic)
    db.session.execute(sa.update(WorkingHours).where(WorkingHours.specialist_id == clinic.id)
                       .values(start_time=datetime(2030, 1, 1, 15).time()))
    db.session.commit()
    assert slot_starts(stranger, clinic) == before  # a bulk statement the ORM did not see: still cached
    touch(db.session, [clinic.id])
    db.session.commit()
    assert slot_starts(stranger, clinic)[0] == "2030-01-07T15:00:00+00:00"
