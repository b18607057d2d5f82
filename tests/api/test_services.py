"""GET|POST /api/v1/specialists/<id>/services, PATCH /api/v1/services/<id>, the rates API beside
them, and bookings, series and slots of a service."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal import clock

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def services_url(specialist) -> str:
    return f"/api/v1/specialists/{specialist.id}/services"


def add_service(client, headers, specialist, **values):
    body = {"name": "Check-in", "duration_minutes": 20, "price": "30.00", "currency": "USD", **values}
    return client.post(services_url(specialist), json=body, headers=headers)


def test_the_rate_history_is_the_default_service_and_both_apis_agree(client, users, api_headers):
    specialist = users["specialist"]
    listed = client.get(services_url(specialist), headers=api_headers(users["patient"])).json
    assert [(s["name"], s["is_default"], s["duration_minutes"], s["price"]) for s in listed] == [
        ("Session", True, 60, "100.00")]
    posted = client.post(f"/api/v1/specialists/{specialist.id}/rates", headers=api_headers(specialist),
                         json={"duration_minutes": 45, "price": "120.00", "currency": "USD",
                               "effective_from": NOW.date().isoformat()})
    assert posted.status_code == 201 and set(posted.json) == {"id", "duration_minutes", "price", "currency",
                                                               "effective_from", "created_at"}
    rates = client.get(f"/api/v1/specialists/{specialist.id}/rates", headers=api_headers(specialist)).json
    assert [r["price"] for r in rates] == ["120.00", "100.00"]
    listed = client.get(services_url(specialist), headers=api_headers(users["patient"])).json
    assert [(s["duration_minutes"], s["price"]) for s in listed] == [(45, "120.00")]


def test_services_are_added_and_changed_by_their_specialist_or_an_admin_only(client, users, api_headers):
    specialist = users["specialist"]
    assert add_service(client, api_headers(users["patient"]), specialist).status_code == 403
    assert add_service(client, api_headers(users["other_specialist"]), specialist).status_code == 403
    assert add_service(client, api_headers(specialist), specialist, duration_minutes=500).status_code == 400
    created = add_service(client, api_headers(specialist), specialist)
    assert created.status_code == 201 and created.json["is_default"] is False
    service_id = created.json["id"]
    changed = client.patch(f"/api/v1/services/{service_id}", headers=api_headers(users["admin"]),
                           json={"price": "35.00", "name": "Short check-in"})
    assert changed.status_code == 200 and (changed.json["price"], changed.json["name"]) == ("35.00", "Short check-in")
    assert client.patch(f"/api/v1/services/{service_id}", headers=api_headers(users["patient"]),
                        json={"name": "x"}).status_code == 403
    off = client.patch(f"/api/v1/services/{service_id}", headers=api_headers(specialist), json={"is_active": False})
    assert off.json["is_active"] is False
    patient_view = client.get(services_url(specialist), headers=api_headers(users["patient"])).json
    assert [s["name"] for s in patient_view] == ["Session"]
    default_id = patient_view[0]["id"]
    refused = client.patch(f"/api/v1/services/{default_id}", headers=api_headers(specialist), json={"is_active": False})
    assert refused.status_code == 409 and refused.json["error"] == "DEFAULT_SERVICE"


def test_a_price_change_applies_from_its_date_and_bookings_keep_theirs(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    first = client.post("/api/v1/bookings", headers=api_headers(patient),
                        json={"specialist_id": str(specialist.id), "starts_at": MONDAY.replace(hour=9).isoformat()})
    default_id = client.get(services_url(specialist), headers=api_headers(patient)).json[0]["id"]
    later = date(2030, 1, 8)
    assert client.patch(f"/api/v1/services/{default_id}", headers=api_headers(specialist),
                        json={"price": "150.00", "effective_from": later.isoformat()}).status_code == 200
    tuesday = client.post("/api/v1/bookings", headers=api_headers(patient), json={
        "specialist_id": str(specialist.id), "starts_at": (MONDAY + timedelta(days=1)).replace(hour=9).isoformat()})
    assert first.json["price"] == "100.00" and tuesday.json["price"] == "150.00"
    again = client.get(f"/api/v1/bookings/{first.json['id']}", headers=api_headers(patient)).json
    assert again["price"] == "100.00" and again["service_id"] == default_id


def test_slots_and_series_of_a_service_take_its_length(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    service_id = add_service(client, api_headers(specialist), specialist, duration_minutes=90,
                             price="150.00").json["id"]
    client.put(f"/api/v1/specialists/{specialist.id}/booking-rules", headers=api_headers(specialist),
               json={"slot_interval_minutes": 30, "buffer_after_minutes": 15})
    rules = client.get(f"/api/v1/specialists/{specialist.id}/booking-rules", headers=api_headers(patient)).json
    assert (rules["slot_interval_minutes"], rules["buffer_after_minutes"], rules["max_upcoming_per_patient"]) == (
        30, 15, 8)  # a PUT of some keys keeps the others
    day = MONDAY.date().isoformat()
    slots = client.get(f"/api/v1/specialists/{specialist.id}/slots?from={day}&to={day}&service_id={service_id}",
                       headers=api_headers(patient)).json
    assert slots[0]["starts_at"].startswith("2030-01-07T09:00") and slots[0]["ends_at"].startswith("2030-01-07T10:30")
    assert slots[-1]["ends_at"].startswith("2030-01-07T16:30")  # 16:30 plus its 15-minute buffer ends by 17:00
    series = client.post("/api/v1/recurring-bookings", headers=api_headers(patient), json={
        "specialist_id": str(specialist.id), "frequency": "weekly", "start_date": day, "time_of_day": "14:00",
        "service_id": service_id})
    assert series.status_code == 201 and series.json["service_id"] == service_id
    assert series.json["booked"] and all(
        s["ends_at"][11:16] == "15:30" for s in series.json["booked"])
    off_grid = client.post("/api/v1/bookings", headers=api_headers(patient), json={
        "specialist_id": str(specialist.id), "starts_at": MONDAY.replace(hour=11, minute=10).isoformat(),
        "service_id": service_id})
    assert off_grid.status_code == 409 and off_grid.json["error"] == "OFF_GRID"
