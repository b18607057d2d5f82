"""Input limits, each a regression test: request size (413 before the body is
read), control characters refused with the field named, exponent numbers refused at once,
far dates refused, and no 500 anywhere."""
from __future__ import annotations

import io
import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal import clock
from portal.extensions import db
from portal.models import SessionNote

NUL = "\x00"
BIG = "1e1000000"


class EndlessBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")

    def tell(self) -> int:  # the test client asks where the stream starts
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0


def post_unread(client, path: str, size: int, content_type: str, headers: dict | None = None):
    return client.post(path, input_stream=EndlessBody(), content_type=content_type, headers=headers or {},
                       environ_overrides={"CONTENT_LENGTH": str(size)})


def test_every_route_takes_1_mb_by_default_and_refuses_more_unread(app, client, users, api_headers):
    assert app.config["MAX_REQUEST_BYTES"] == 1024 * 1024
    headers = api_headers(users["patient"])
    response = post_unread(client, "/functions/booking-cancel", 300 * 1024 * 1024, "application/json", headers)
    assert response.status_code == 413 and response.get_json()["error"] == "TOO_LARGE"


def test_an_anonymous_200_mb_multipart_to_login_is_refused_before_csrf_or_disk(client):
    response = post_unread(client, "/login", 200 * 1024 * 1024, "multipart/form-data; boundary=x")
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)


def test_upload_routes_take_up_to_max_upload_bytes(app, client, users, api_headers, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    headers = api_headers(users["admin"])
    over = post_unread(client, "/api/v1/meeting-recordings", 6 * 1024 * 1024,
                       "multipart/form-data; boundary=x", headers)
    assert over.status_code == 413
    # Under the upload limit but over the 1 MB default: read, then refused for what it is (no booking).
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"booking_id\"\r\n\r\n{uuid.uuid4()}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n").encode()
    body += b"\0" * (2 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    under = client.post("/api/v1/meeting-recordings", headers=headers, input_stream=io.BytesIO(body),
                        content_type=f"multipart/form-data; boundary={boundary}",
                        environ_overrides={"CONTENT_LENGTH": str(len(body))})
    assert under.status_code == 404 and under.get_json()["error"] == "NOT_FOUND"
    # JSON to the same route (the register form) keeps the 1 MB limit.
    json_over = post_unread(client, "/api/v1/meeting-recordings", 2 * 1024 * 1024, "application/json", headers)
    assert json_over.status_code == 413


def test_a_chunked_body_is_cut_at_the_limit(app, client, users, api_headers):
    body = io.BytesIO(b'{"booking_id": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    response = client.post("/functions/booking-cancel", input_stream=body, content_type="application/json",
                           headers=api_headers(users["patient"]),
                           environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert response.status_code == 413
    assert body.tell() <= 1024 * 1024 + 64 * 1024  # read no further than the limit (and a buffer)


@pytest.mark.parametrize("field", ["session_count", "valid_for_days"])
def test_exponent_numbers_in_packages_are_refused_at_once(client, users, api_headers, login_as, field):
    """int(Decimal("1e1000000")) takes seconds (a DoS): refused at once, a 400 (API) or a form error (page)."""
    good = {"name": "Four", "session_count": 4, "price": "320.00", "currency": "USD", "valid_for_days": 30}
    started = time.monotonic()
    response = client.post("/api/v1/booking-packages", json={**good, field: BIG},
                           headers=api_headers(users["specialist"]))
    assert response.status_code == 400 and field in response.get_json()["fields"]
    login_as(users["specialist"])
    page = client.post("/specialist/packages", data={**good, field: BIG}, headers={"HX-Request": "true"})
    assert page.status_code == 422 and "whole number" in page.get_data(as_text=True)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("path, payload", [
    ("/api/v1/booking-packages", {"name": f"Four{NUL}", "session_count": 4, "price": "1.00"}),
    ("/functions/booking-cancel", {"booking_id": str(uuid.uuid4()), "reason": f"flu{NUL}"}),
    ("/api/v1/availability-exceptions", {"exception_date": "2030-01-01", "reason": "other", "x": NUL}),
])
def test_nul_in_json_is_a_400_naming_the_field(client, users, api_headers, path, payload):
    response = client.post(path, json=payload, headers=api_headers(users["specialist"]))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "INVALID_REQUEST" and set(body["fields"]) & set(payload)


def test_nul_in_note_text_and_details_is_refused_and_never_stored(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    headers = api_headers(users["specialist"])
    for payload, field in (({"notes": f"secret words{NUL}"}, "notes"),
                           ({"notes": "ok", "metadata": {"mood": f"low{NUL}"}}, "metadata.mood")):
        response = client.post("/api/v1/session-notes", headers=headers,
                               json={"booking_id": str(booking.id), **payload})
        assert response.status_code == 400, response.get_json()
        assert field in response.get_json()["fields"]
    assert db.session.query(SessionNote).count() == 0


def test_note_metadata_over_16_kb_is_refused(client, users, api_headers, make_booking):
    from portal.errors import ServiceError
    from portal.services.notes import note_validate

    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    response = client.post("/api/v1/session-notes", headers=api_headers(users["specialist"]),
                           json={"booking_id": str(booking.id), "notes": "ok", "metadata": {"x": "y" * 17_000}})
    assert response.status_code == 400 and "metadata" in response.get_json()["fields"]
    with pytest.raises(ServiceError) as refused:
        note_validate({"notes": "ok", "metadata": {"x": "y" * 17_000}})
    assert "16 KB" in refused.value.fields["metadata"]


@pytest.mark.parametrize("path, data", [
    ("/login", {"email": f"a{NUL}@example.test", "password": "x"}),
    ("/password/forgot", {"email": f"a{NUL}@example.test"}),
])
def test_nul_in_page_forms_is_refused_not_a_500(client, path, data):
    response = client.post(path, data=data)
    assert response.status_code == 400 and "not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize("role, path", [
    ("patient", "/specialists"), ("admin", "/admin/users"), ("admin", "/admin/cancellations"),
    ("specialist", "/specialist/notes"), ("admin", "/admin/outbox"), ("admin", "/admin/audit"),
])
@pytest.mark.parametrize("query", [{"q": NUL}, {"page": "99999999999999999999"}, {"page": "1e20"}])
def test_paged_lists_and_searches_take_edge_values(client, users, login_as, role, path, query):
    login_as(users[role])
    response = client.get(path, query_string=query)
    assert response.status_code == (400 if NUL in query.get("q", "") else 200)


@pytest.mark.parametrize("path", ["/api/v1/bookings", "/api/v1/session-notes", "/api/v1/booking-packages",
                                  "/api/v1/meeting-recordings", "/api/v1/recurring-bookings"])
@pytest.mark.parametrize("page", ["99999999999999999999", "1e20"])
def test_api_pages_out_of_range_are_a_400_naming_page(client, users, api_headers, path, page):
    response = client.get(path, query_string={"page": page}, headers=api_headers(users["admin"]))
    assert response.status_code == 400 and "page" in response.get_json()["fields"]


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_far_dates_in_api_filters_and_bodies_are_a_400(client, users, api_headers, value):
    admin, specialist = api_headers(users["admin"]), api_headers(users["specialist"])
    cases = [
        ("get", "/api/v1/bookings", {"from": value}, None, admin, "from"),
        ("get", "/api/v1/audit-logs", {"from": f"{value}T23:00:00-14:00"}, None, admin, "from"),
        ("get", "/api/v1/availability-exceptions", {"from": value}, None, specialist, "from"),
        ("post", "/api/v1/availability-exceptions", None,
         {"exception_date": value, "reason": "other"}, specialist, "exception_date"),
        ("post", "/api/v1/bookings", None, {"specialist_id": str(users["specialist"].id),
                                             "starts_at": f"{value}T23:00:00-14:00"}, api_headers(users["patient"]),
         "starts_at"),
        ("post", "/api/v1/recurring-bookings", None, {"specialist_id": str(users["specialist"].id),
                                                       "frequency": "weekly", "start_date": value},
         api_headers(users["patient"]), "start_date"),
        ("post", f"/api/v1/specialists/{users['specialist'].id}/rates", None,
         {"duration_minutes": 60, "price": "10.00", "currency": "USD", "effective_from": value}, specialist,
         "effective_from"),
    ]
    for method, path, query, body, headers, field in cases:
        response = getattr(client, method)(path, query_string=query, json=body, headers=headers)
        assert response.status_code == 400, (path, response.get_json())
        assert field in response.get_json()["fields"], path


def test_bookings_and_series_beyond_the_booking_window_are_refused(app, client, users, api_headers):
    """Year-9999 bookings and series broke the dispatcher later; 2099 is past MAX_BOOKING_AHEAD_DAYS too."""
    assert app.config["MAX_BOOKING_AHEAD_DAYS"] == 730
    patient = api_headers(users["patient"])
    with clock.frozen(datetime(2030, 1, 6, 12, tzinfo=UTC)):
        far = client.post("/api/v1/bookings", headers=patient, json={
            "specialist_id": str(users["specialist"].id), "starts_at": "2099-01-05T10:00:00+00:00"})
        series = client.post("/api/v1/recurring-bookings", headers=patient, json={
            "specialist_id": str(users["specialist"].id), "frequency": "weekly", "start_date": "2099-01-05"})
    assert far.status_code == 409 and far.get_json()["error"] == "OUTSIDE_BOOKING_WINDOW"
    assert series.status_code == 409 and series.get_json()["error"] == "OUTSIDE_BOOKING_WINDOW"


@pytest.mark.parametrize("path", ["/specialist/calendar/day/9999-12-31", "/specialist/calendar/day/0001-01-01",
                                  "/specialist/calendar?day=9999-12-31", "/specialist/calendar?month=9999-12"])
def test_far_calendar_urls_are_not_found(client, users, login_as, path):
    login_as(users["specialist"])
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_far_audit_filters_are_form_errors(client, users, login_as, path):
    login_as(users["admin"])
    response = client.get(path, query_string={"from": "0001-01-01", "to": "9999-12-31"})
    assert response.status_code == 200


def test_far_cancellation_filters_are_form_errors(client, users, login_as):
    login_as(users["admin"])
    response = client.get("/admin/cancellations", query_string={"date_from": "0001-01-01", "date_to": "9999-12-31",
                                                                 "specialist": " "})
    assert response.status_code == 200 and "Use a date between" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["\x00", "a\x00b", "file\x01"])
def test_multipart_fields_with_odd_names_are_a_400(client, users, api_headers, name):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           content_type="multipart/form-data",
                           data={"booking_id": str(uuid.uuid4()), name: "x"})
    assert response.status_code == 400 and response.get_json()["success"] is False


def test_multipart_fields_with_unknown_names_are_a_400_naming_them(client, users, api_headers):
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           content_type="multipart/form-data",
                           data={"booking_id": str(uuid.uuid4()), "0": "x", "a[b]": "y", "é": "z"})
    assert response.status_code == 400 and response.get_json()["error"] == "INVALID_REQUEST"


def test_far_dates_in_page_forms_are_form_errors(client, users, login_as):
    specialist = users["specialist"]
    login_as(users["patient"])
    booked = client.post(f"/specialists/{specialist.id}/book",
                         data={"starts_at": "9999-12-31T23:00:00-14:00"})
    assert booked.status_code == 422
    series = client.post("/recurring/", data={"specialist_id": str(specialist.id), "frequency": "weekly",
                                              "start_date": "9999-12-31", "end_date": "9999-12-31"})
    assert series.status_code in (400, 422)
    login_as(specialist)
    rate = client.post("/specialist/availability/rates", data={
        "duration_minutes": "60", "price": "10.00", "currency": "USD", "effective_from": "9999-12-31"})
    assert rate.status_code == 422 and "Use a date between" in rate.get_data(as_text=True)
    blocked = client.post("/specialist/calendar/day/9999-12-31/exceptions", data={"reason": "other"})
    assert blocked.status_code == 404



def test_a_series_ending_in_9999_is_a_form_error(client, users, login_as):
    login_as(users["patient"])
    with clock.frozen(datetime(2030, 1, 6, 12, tzinfo=UTC)):
        response = client.post("/recurring/", data={
            "specialist_id": str(users["specialist"].id), "frequency": "weekly", "start_date": "2030-01-07",
            "end_date": "9999-12-31", "time_of_day": "10:00"})
    assert response.status_code == 422 and "Use a date between" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", [b"\xff\xfe", b"\xc3", b'a"b', b"", b"_schema", b"booking_id[]"])
def test_multipart_parts_with_undecodable_or_odd_names_answer_a_json_400(client, users, api_headers, name):
    body = (b'--bnd\r\nContent-Disposition: form-data; name="booking_id"\r\n\r\n' + str(uuid.uuid4()).encode()
            + b'\r\n--bnd\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\nx\r\n--bnd--\r\n')
    response = client.post("/api/v1/meeting-recordings", input_stream=io.BytesIO(body),
                           content_type="multipart/form-data; boundary=bnd", headers=api_headers(users["admin"]),
                           environ_overrides={"CONTENT_LENGTH": str(len(body))})
    assert response.status_code == 400 and response.get_json()["error"] == "INVALID_REQUEST"


def test_an_mp4_claiming_an_overflowing_duration_is_a_400(app, client, users, api_headers, make_booking,
                                                          consent_to_recording):
    consent_to_recording(users["patient"], users["specialist"])
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, 1, 2**63) + b"\x00" * 80
    video = (box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2") + box(b"mdat", b"\x00" * 5000)
             + box(b"moov", box(b"mvhd", mvhd)))
    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    response = client.post("/api/v1/meeting-recordings", headers=api_headers(users["admin"]),
                           content_type="multipart/form-data",
                           data={"booking_id": str(booking.id), "file": (io.BytesIO(video), "long.mp4")})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "INVALID_REQUEST" and "duration_seconds" in body["fields"]
    stored = [p for p in Path(app.config["RECORDINGS_DIR"]).rglob("*") if str(booking.id) in p.name]
    assert stored == []


def test_an_admin_override_stops_at_the_portals_booking_window(app, client, users, api_headers):
    with clock.frozen(datetime(2030, 1, 6, 12, tzinfo=UTC)):
        response = client.post("/api/v1/bookings", headers=api_headers(users["admin"]), json={
            "specialist_id": str(users["specialist"].id), "patient_id": str(users["patient"].id),
            "starts_at": "2099-01-05T10:00:00+00:00", "override_rules": True})
    assert response.status_code == 409 and response.get_json()["error"] == "OUTSIDE_BOOKING_WINDOW"
    assert "starts_at" in response.get_json()["fields"]


def post_routes(app) -> list[str]:
    """Every route that takes a POST, its path arguments filled with a well-formed id."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            values = {name: uuid.uuid4() if type(converter).__name__ == "UUIDConverter" else "x"
                      for name, converter in rule._converters.items()}
            paths.append(app.url_map.bind("localhost").build(rule.endpoint, values))
    return paths


DEEP_JSON = "[" * 200_000 + "]" * 200_000
LONG_INTEGER = '{"booking_id": ' + "9" * 5_000 + "}"


@pytest.mark.parametrize("body", [DEEP_JSON, LONG_INTEGER, "[" * 33 + "]" * 33],
                         ids=["200,000 deep", "5,000 digits", "33 deep"])
def test_unreadable_json_answers_400_on_every_post_route_before_any_view(app, client, body):
    paths = post_routes(app)
    assert "/api/v1/bookings" in paths and "/functions/booking-cancel" in paths and "/signup" in paths
    for path in paths:
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code)
        if path.startswith(("/api/", "/functions/")):
            data = response.get_json()
            assert data["error"] == "INVALID_REQUEST" and "json" in data["fields"], path


def test_unreadable_json_is_refused_signed_in_too_and_says_why(client, users, api_headers):
    headers = api_headers(users["patient"])
    deep = client.post("/functions/booking-cancel", data=DEEP_JSON, content_type="application/json",
                       headers=headers).get_json()
    assert deep["fields"] == {"json": "Nest arrays and objects at most 32 levels deep."}
    long = client.post("/api/v1/bookings", data=LONG_INTEGER, content_type="application/json", headers=headers)
    assert long.get_json()["fields"] == {"json": "A number in the body has too many digits."}


def test_json_nested_within_the_bound_and_empty_json_bodies_still_reach_the_view(client, users, api_headers):
    headers = api_headers(users["patient"])
    nested = {"booking_id": str(uuid.uuid4()), "reason": "x", "extra": [[[[1]]]]}
    response = client.post("/functions/booking-cancel", json=nested, headers=headers)
    assert response.status_code == 404  # the view ran: no such booking
    empty = client.post("/functions/booking-cancel", data="", content_type="application/json", headers=headers)
    assert empty.status_code == 400 and "json" not in empty.get_json()["fields"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"], ids=["U+2028", "U+2029", "U+0085"])
def test_unicode_line_breaks_are_refused_where_a_newline_is(client, users, api_headers, login_as, separator):
    page = client.post("/signup", data={"display_name": "Pat", "email": f"pat{separator}bcc@example.test",
                                        "password": "sunlit-meadow-walk-42", "timezone": "UTC"})
    assert page.status_code == 422 and "control characters" in page.text
    api = client.post("/api/v1/booking-packages", headers=api_headers(users["specialist"]),
                      json={"name": f"Four{separator}sessions", "session_count": 4, "price": "1.00"})
    assert api.status_code == 400 and "name" in api.get_json()["fields"]
    login_as(users["admin"])
    invite = client.post("/admin/users/invite", data={"display_name": "Sam", "role": "specialist",
                                                      "email": f"sam@example.test{separator}Bcc: x@example.test",
                                                      "timezone": "UTC"})
    assert invite.status_code == 422
    assert users_named(f"sam@example.test{separator}Bcc: x@example.test") == 0


def test_unicode_line_breaks_stay_allowed_in_multi_line_text(client, users, api_headers, make_booking):
    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    response = client.post("/api/v1/session-notes", headers=api_headers(users["specialist"]),
                           json={"booking_id": str(booking.id), "notes": "first\u2028second"})
    assert response.status_code == 201, response.get_json()


def users_named(email: str) -> int:
    from portal.models import User

    return db.session.query(User).filter(User.email == email).count()
