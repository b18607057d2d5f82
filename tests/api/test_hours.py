"""The JSON API for specialists, slots, hours, rates, bookings and exceptions."""
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def test_specialists_are_listed_searched_and_paginated(client, users, api_headers):
    headers = api_headers(users["patient"])
    body = client.get("/api/v1/specialists?per_page=1", headers=headers).json
    assert body["total"] == 2 and len(body["items"]) == 1
    found = client.get("/api/v1/specialists?q=two", headers=headers).json["items"]
    assert [s["display_name"] for s in found] == ["Spec Two"]


def test_slots_have_offsets_and_skip_taken_times(client, users, api_headers, make_booking):
    specialist = users["specialist"]
    make_booking(users["other_patient"], specialist, MONDAY.replace(hour=10))
    response = client.get(f"/api/v1/specialists/{specialist.id}/slots?from=2030-01-07&to=2030-01-07",
                          headers=api_headers(users["patient"]))
    assert response.status_code == 200
    starts = [s["starts_at"] for s in response.json]
    assert starts[0] == "2030-01-07T09:00:00+00:00"
    assert "2030-01-07T10:00:00+00:00" not in starts and len(starts) == 7


def test_working_hours_put_replaces_the_week_for_owner_only(client, users, api_headers):
    specialist = users["specialist"]
    url = f"/api/v1/specialists/{specialist.id}/working-hours"
    week = [{"weekday": 0, "start": "08:00", "end": "12:00"}, {"weekday": 0, "start": "13:00", "end": "17:30"}]
    assert client.put(url, json=week, headers=api_headers(users["patient"])).status_code == 403
    assert client.put(url, json=week, headers=api_headers(users["other_specialist"])).status_code == 403
    response = client.put(url, json=week, headers=api_headers(specialist))
    assert response.status_code == 200
    assert client.get(url, headers=api_headers(users["patient"])).json == week
    assert db.session.query(AuditLog).filter_by(action="working_hours_replaced").count() == 1
    overlapping = [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}]
    assert client.put(url, json=overlapping, headers=api_headers(users["admin"])).status_code == 400


def test_new_rate_becomes_current_from_its_date_and_history_is_kept(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    headers = api_headers(specialist)
    url = f"/api/v1/specialists/{specialist.id}/rates"
    new = {"duration_minutes": 45, "price": "80.00", "currency": "eur", "effective_from": "2030-01-08"}
    assert client.post(url, json=new, headers=api_headers(patient)).status_code == 403
    response = client.post(url, json=new, headers=headers)
    assert response.status_code == 201 and response.json["currency"] == "EUR"
    assert len(client.get(url, headers=headers).json) == 2
    booked = client.post("/api/v1/bookings", headers=api_headers(patient), json={
        "specialist_id": str(specialist.id), "starts_at": "2030-01-07T09:00:00+00:00"}).json
    assert (booked["price"], booked["currency"]) == ("100.00", "USD")
    booked = client.post("/api/v1/bookings", headers=api_headers(patient), json={
        "specialist_id": str(specialist.id), "starts_at": "2030-01-08T09:00:00+00:00"}).json
    assert (booked["price"], booked["currency"]) == ("80.00", "EUR")
    assert booked["ends_at"] == "2030-01-08T09:45:00+00:00"
    past = {**new, "effective_from": "2029-12-01"}
    assert client.post(url, json=past, headers=headers).json["fields"] == {
        "effective_from": "Today or later: past rates are history."}


def test_booking_create_list_filter_and_read_are_scoped(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    body = {"specialist_id": str(specialist.id), "starts_at": "2030-01-07T11:00:00+01:00"}
    created = client.post("/api/v1/bookings", json=body, headers=api_headers(patient))
    assert created.status_code == 201
    assert created.json["starts_at"] == "2030-01-07T10:00:00+00:00"
    again = client.post("/api/v1/bookings", json=body, headers=api_headers(users["other_patient"]))
    assert (again.status_code, again.json["error"]) == (409, "SLOT_UNAVAILABLE")
    assert client.post("/api/v1/bookings", json=body, headers=api_headers(specialist)).status_code == 403
    listing = client.get(f"/api/v1/bookings?status=confirmed&from=2030-01-07&to=2030-01-07"
                         f"&specialist_id={specialist.id}", headers=api_headers(patient)).json
    assert listing["total"] == 1
    assert client.get("/api/v1/bookings", headers=api_headers(users["other_patient"])).json["total"] == 0
    url = f"/api/v1/bookings/{created.json['id']}"
    assert client.get(url, headers=api_headers(specialist)).status_code == 200
    assert client.get(url, headers=api_headers(users["other_patient"])).status_code == 404


def test_only_staff_book_on_a_patients_behalf_a_specialist_on_their_own_calendar(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    body = {"specialist_id": str(specialist.id), "starts_at": "2030-01-07T11:00:00+00:00"}

    def book(actor, patient_id):
        response = client.post("/api/v1/bookings", json={**body, "patient_id": str(patient_id)},
                               headers=api_headers(actor))
        return response.status_code, response.json.get("error")

    assert book(users["other_patient"], patient.id) == (403, "FORBIDDEN")
    assert book(users["other_specialist"], patient.id) == (403, "FORBIDDEN")
    assert book(users["admin"], specialist.id) == (404, "NOT_FOUND")
    assert book(users["admin"], "00000000-0000-0000-0000-000000000000") == (404, "NOT_FOUND")
    assert book(users["admin"], patient.id) == (201, None)


def test_exceptions_crud_with_affected_bookings_flagged(client, users, api_headers, make_booking):
    specialist, patient = users["specialist"], users["patient"]
    booking = make_booking(patient, specialist, MONDAY.replace(hour=14))
    body = {"exception_date": "2030-01-07", "reason": "training", "all_day": False,
            "start_time": "13:30", "end_time": "15:00"}
    assert client.post("/api/v1/availability-exceptions", json={**body, "specialist_id": str(specialist.id)},
                       headers=api_headers(patient)).status_code == 403
    created = client.post("/api/v1/availability-exceptions", json=body, headers=api_headers(specialist))
    assert created.status_code == 201
    assert created.json["affected_booking_ids"] == [str(booking.id)]
    db.session.expire_all()
    assert "unavailable" in db.session.get(Booking, booking.id).attention_reason
    assert db.session.get(Booking, booking.id).status == "confirmed"
    listed = client.get(f"/api/v1/availability-exceptions?specialist_id={specialist.id}&from=2030-01-01"
                        "&is_available=false", headers=api_headers(users["other_patient"])).json
    assert listed["total"] == 1
    url = f"/api/v1/availability-exceptions/{created.json['id']}"
    other = api_headers(users["other_specialist"])
    assert client.patch(url, json={"reason": "other"}, headers=other).status_code == 403
    patched = client.patch(url, json={"all_day": True}, headers=api_headers(specialist))
    assert patched.status_code == 200 and patched.json["start_time"] is None
    assert client.delete(url, headers=api_headers(users["patient"])).status_code == 403
    assert client.delete(url, headers=api_headers(users["admin"])).status_code == 204
    assert client.delete(url, headers=api_headers(users["admin"])).status_code == 404


@pytest.mark.parametrize("method, url, body", [
    ("get", "/api/v1/specialists/{sid}/slots?from=2030-13-01&to=2030-01-08", None),
    ("get", "/api/v1/specialists/{sid}/slots?from=2030-01-08&to=2030-01-07", None),
    ("get", "/api/v1/specialists/{sid}/slots", None),
    ("get", "/api/v1/specialists?page=0", None),
    ("get", "/api/v1/bookings?status=nope", None),
    ("get", "/api/v1/bookings?specialist_id=xyz", None),
    ("post", "/api/v1/bookings", {"specialist_id": "x", "starts_at": "2030-01-07T10:00:00"}),
    ("post", "/api/v1/bookings", {"specialist_id": "{sid}", "starts_at": "2030-01-07T10:00:00"}),
    ("post", "/api/v1/bookings", ["not", "an", "object"]),
    ("post", "/api/v1/bookings", "garbage"),
    ("put", "/api/v1/specialists/{sid}/working-hours", [{"weekday": 9, "start": "25:00", "end": "x"}]),
    ("put", "/api/v1/specialists/{sid}/working-hours", {"weekday": 1}),
    ("put", "/api/v1/specialists/{sid}/working-hours", [{"weekday": 1, "start": "12:00", "end": "09:00"}]),
    ("post", "/api/v1/specialists/{sid}/rates", {"duration_minutes": 1, "price": "NaN", "currency": "E",
                                                   "effective_from": "soon"}),
    ("post", "/api/v1/availability-exceptions", {"exception_date": "2030-02-30", "reason": "fun"}),
    ("post", "/api/v1/availability-exceptions", {"exception_date": "2030-01-07", "reason": "other",
                                                 "all_day": False, "start_time": "15:00", "end_time": "14:00"}),
    ("post", "/api/v1/availability-exceptions", {"exception_date": "2030-01-07", "reason": "other",
                                                 "all_day": False}),
    ("get", "/api/v1/availability-exceptions?is_available=maybe&from=x", None),
])
def test_malformed_input_answers_400_with_fields(client, users, api_headers, method, url, body):
    sid = str(users["specialist"].id)
    url = url.replace("{sid}", sid)
    if isinstance(body, dict):
        body = {k: v.replace("{sid}", sid) if isinstance(v, str) else v for k, v in body.items()}
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    response = getattr(client, method)(url, headers=api_headers(users["specialist"]), **kwargs)
    assert response.status_code == 400, response.json
    assert response.json["success"] is False and response.json["error"] == "INVALID_REQUEST"


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/specialists/not-a-uuid/slots?from=2030-01-07&to=2030-01-08"),
    ("get", "/api/v1/bookings/not-a-uuid"),
    ("patch", "/api/v1/availability-exceptions/nope"),
])
def test_malformed_ids_in_the_path_answer_404(client, users, api_headers, method, url):
    """The <uuid:...> converter: a malformed id matches no route, like an unknown one."""
    response = getattr(client, method)(url, headers=api_headers(users["specialist"]), json={"reason": "other"})
    assert response.status_code == 404
    assert response.json["success"] is False and response.json["error"] == "NOT_FOUND"


def test_unauthenticated_gets_401_and_unknown_ids_404(client, users, api_headers):
    specialist = users["specialist"].id
    assert client.get(f"/api/v1/specialists/{specialist}/working-hours").status_code == 401
    assert client.get(f"/api/v1/specialists/{specialist}/rates").status_code == 401
    missing = "00000000-0000-0000-0000-000000000000"
    headers = api_headers(users["patient"])
    assert client.get(f"/api/v1/specialists/{missing}/working-hours", headers=headers).status_code == 404
    assert client.get(f"/api/v1/specialists/{users['patient'].id}/rates", headers=headers).status_code == 404
    assert client.get(f"/api/v1/bookings/{missing}", headers=headers).status_code == 404


def test_openapi_document_describes_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/specialists/{specialist_id}/slots", "/api/v1/bookings",
            "/api/v1/availability-exceptions/{exception_id}"} <= set(paths)


def test_openapi_document_gives_the_status_invalid_input_really_gets(client, users, api_headers):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    # Invalid input is a 400 everywhere; the booking-cancel function's 422 is the spec's BOOKING_IN_PAST.
    responses = [op["responses"] for name, path in paths.items() if name.startswith("/api/v1/")
                 for op in path.values() if "responses" in op]
    assert not any("422" in r for r in responses)
    assert "400" in paths["/api/v1/bookings"]["post"]["responses"]
    bad = client.post("/api/v1/bookings", json={"specialist_id": "nope"}, headers=api_headers(users["patient"]))
    assert bad.status_code == 400 and "specialist_id" in bad.json["fields"]
