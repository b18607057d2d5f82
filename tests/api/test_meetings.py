"""Where a session happens: a service's location, a booking's own video room (made when booked,
kept when moved, never reused), who reads it through the API, and the .ics it goes into."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from portal import clock
from portal.extensions import db
from portal.models import Booking
from portal.services.ics import booking_invitation

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # the fixtures' specialists work 09:00-17:00 UTC on weekdays
NOW = MONDAY - timedelta(days=1)
JITSI = "https://meet.jit.si/"


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def add_service(client, headers, specialist, **values):
    body = {"name": "Video session", "duration_minutes": 60, "price": "90.00", "currency": "USD", **values}
    return client.post(f"/api/v1/specialists/{specialist.id}/services", json=body, headers=headers)


def book(client, headers, specialist, service_id, hour: int, day: int = 0):
    return client.post("/api/v1/bookings", headers=headers, json={
        "specialist_id": str(specialist.id), "service_id": service_id,
        "starts_at": (MONDAY + timedelta(days=day, hours=hour)).isoformat()})


@pytest.fixture
def video_service(client, users, api_headers):
    response = add_service(client, api_headers(users["specialist"]), users["specialist"],
                           location={"kind": "video"})
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.mark.parametrize(("location", "field"), [
    ({"kind": "in_person"}, "location.address"),
    ({"kind": "in_person", "address": "  "}, "location.address"),
    ({"kind": "teleport"}, "location.kind"),
    ({"kind": "video", "room_url": "http://meet.example/room"}, "location.room_url"),
    ({"kind": "video", "room_url": "javascript:alert(1)"}, "location.room_url"),
    ({"kind": "phone", "room_url": "https://meet.example/room"}, "location.room_url"),
    ({"kind": "video", "address": "Main St 1"}, "location.address"),
    ({"kind": "video", "colour": "red"}, "location.colour"),
    ("video", "location"),
])
def test_a_bad_location_is_refused_naming_the_field_and_nothing_changes(client, users, api_headers, location,
                                                                        field):
    specialist = users["specialist"]
    headers = api_headers(specialist)
    before = client.get(f"/api/v1/specialists/{specialist.id}/services", headers=headers).json
    response = add_service(client, headers, specialist, location=location)
    assert response.status_code == 400 and field in response.json["fields"], response.json
    assert client.get(f"/api/v1/specialists/{specialist.id}/services", headers=headers).json == before


def test_a_service_says_where_and_only_its_owner_reads_a_fixed_room(client, users, api_headers):
    specialist = users["specialist"]
    created = add_service(client, api_headers(specialist), specialist,
                          location={"kind": "in_person", "address": "Harbour Rd 4, room 2"})
    assert created.json["location"] == {"kind": "in_person", "address": "Harbour Rd 4, room 2", "room_url": None}
    changed = client.patch(f"/api/v1/services/{created.json['id']}", headers=api_headers(specialist),
                           json={"location": {"kind": "video", "room_url": "https://video.example/dr-room"}})
    assert changed.status_code == 200
    assert changed.json["location"] == {"kind": "video", "address": None, "room_url": "https://video.example/dr-room"}
    listed = client.get(f"/api/v1/specialists/{specialist.id}/services", headers=api_headers(users["patient"])).json
    (mine,) = [s for s in listed if s["id"] == created.json["id"]]
    assert mine["location"] == {"kind": "video", "address": None, "room_url": None}
    anonymous = client.get(f"/api/v1/specialists/{specialist.id}/services").json
    assert "dr-room" not in str(anonymous)


def test_each_video_booking_gets_its_own_room_seen_by_its_parties_only(client, users, api_headers, video_service):
    specialist, patient = users["specialist"], users["patient"]
    first = book(client, api_headers(patient), specialist, video_service, 9)
    second = book(client, api_headers(users["other_patient"]), specialist, video_service, 11)
    assert first.status_code == second.status_code == 201
    url = f"/api/v1/bookings/{first.json['id']}"
    seen = {role: client.get(url, headers=api_headers(users[role])) for role in
            ("patient", "specialist", "admin", "other_patient", "other_specialist")}
    location = seen["patient"].json["location"]
    assert location["kind"] == "video" and location["url"].startswith(JITSI)
    assert seen["specialist"].json["location"] == seen["admin"].json["location"] == location
    assert seen["other_patient"].status_code == seen["other_specialist"].status_code == 404
    room = location["url"].removeprefix(JITSI)
    assert len(room) >= 22  # 128 random bits
    other = client.get(f"/api/v1/bookings/{second.json['id']}", headers=api_headers(users["other_patient"]))
    assert other.json["location"]["url"] != location["url"]
    # Not in the list, which others' tools page through.
    listed = client.get("/api/v1/bookings", headers=api_headers(patient)).json
    assert room not in str(listed)


def test_the_room_is_kept_when_the_session_moves_and_not_reused(client, users, api_headers, video_service):
    patient = users["patient"]
    booked = book(client, api_headers(patient), users["specialist"], video_service, 9).json
    before = client.get(f"/api/v1/bookings/{booked['id']}", headers=api_headers(patient)).json["location"]
    moved = client.post(f"/api/v1/bookings/{booked['id']}/reschedule", headers=api_headers(patient),
                        json={"starts_at": (MONDAY + timedelta(hours=14)).isoformat()})
    assert moved.status_code == 200, moved.json
    after = client.get(f"/api/v1/bookings/{booked['id']}", headers=api_headers(patient)).json
    assert after["location"] == before and after["starts_at"].startswith("2030-01-07T14:00")
    cancelled = client.post("/functions/booking-cancel", headers=api_headers(patient),
                            json={"booking_id": booked["id"], "reason": "Away"})
    assert cancelled.status_code in (200, 201), cancelled.json
    again = book(client, api_headers(patient), users["specialist"], video_service, 14).json
    assert client.get(f"/api/v1/bookings/{again['id']}", headers=api_headers(patient)).json["location"] != before


def test_a_fixed_room_and_an_address_are_the_services(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    fixed = add_service(client, api_headers(specialist), specialist,
                        location={"kind": "video", "room_url": "https://video.example/dr-room"}).json["id"]
    office = add_service(client, api_headers(specialist), specialist, name="At the office",
                         location={"kind": "in_person", "address": "Harbour Rd 4"}).json["id"]
    by_video = book(client, api_headers(patient), specialist, fixed, 9).json
    in_person = book(client, api_headers(patient), specialist, office, 11).json
    assert db.session.get(Booking, uuid.UUID(by_video["id"])).room_url is None
    assert client.get(f"/api/v1/bookings/{by_video['id']}", headers=api_headers(patient)).json["location"] == {
        "kind": "video", "url": "https://video.example/dr-room"}
    assert client.get(f"/api/v1/bookings/{in_person['id']}", headers=api_headers(patient)).json["location"] == {
        "kind": "in_person", "address": "Harbour Rd 4"}


def test_the_invitation_carries_the_join_link_as_location_and_url(client, users, api_headers, video_service, app):
    booked = book(client, api_headers(users["patient"]), users["specialist"], video_service, 9).json
    booking = db.session.get(Booking, uuid.UUID(booked["id"]))
    _, _, data = booking_invitation(booking, method="REQUEST")
    (event,) = Calendar.from_ical(data).walk("VEVENT")
    assert str(event["LOCATION"]) == booking.room_url and str(event["URL"]) == booking.room_url
    client_file = client.get(f"/bookings/{booking.id}/calendar.ics")  # signed out: no file
    assert client_file.status_code in (302, 401, 404)


def test_an_in_person_invitation_carries_the_address(client, users, api_headers):
    specialist = users["specialist"]
    office = add_service(client, api_headers(specialist), specialist,
                         location={"kind": "in_person", "address": "Harbour Rd 4, Oslo"}).json["id"]
    booked = book(client, api_headers(users["patient"]), specialist, office, 9).json
    _, _, data = booking_invitation(db.session.get(Booking, uuid.UUID(booked["id"])), method="REQUEST")
    (event,) = Calendar.from_ical(data).walk("VEVENT")
    assert str(event["LOCATION"]) == "Harbour Rd 4, Oslo"
    assert str(event["URL"]).endswith(f"/bookings/{booked['id']}")


def test_the_room_host_is_configurable(client, users, api_headers, video_service, app, monkeypatch):
    monkeypatch.setitem(app.config, "VIDEO_ROOM_BASE_URL", "https://video.clinic.example")
    booked = book(client, api_headers(users["patient"]), users["specialist"], video_service, 9).json
    assert db.session.get(Booking, uuid.UUID(booked["id"])).room_url.startswith("https://video.clinic.example/clinic-")


def test_add_to_calendar_carries_the_room_to_the_party(client, users, api_headers, video_service, login_as):
    booked = book(client, api_headers(users["patient"]), users["specialist"], video_service, 9).json
    room = db.session.get(Booking, uuid.UUID(booked["id"])).room_url
    login_as(users["patient"])
    (event,) = Calendar.from_ical(client.get(f"/bookings/{booked['id']}/calendar.ics").data).walk("VEVENT")
    assert str(event["LOCATION"]) == room and str(event["URL"]) == room
    login_as(users["other_patient"])
    assert client.get(f"/bookings/{booked['id']}/calendar.ics").status_code == 404
