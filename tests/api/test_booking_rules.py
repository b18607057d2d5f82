"""GET|PUT /api/v1/specialists/<id>/booking-rules, the 409 codes a refused booking answers,
/slots under the rules, and the rate limits on the API's writes."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking
from tests.conftest import DEFAULT_PASSWORD

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def rules_url(specialist) -> str:
    return f"/api/v1/specialists/{specialist.id}/booking-rules"


def put_rules(client, specialist, headers, **values):
    body = {"max_upcoming_per_patient": 8, "min_notice_hours": 2, "booking_window_days": 365, **values}
    return client.put(rules_url(specialist), json=body, headers=headers)


def post_booking(client, headers, specialist, starts_at: datetime, **extra):
    return client.post("/api/v1/bookings", headers=headers,
                       json={"specialist_id": str(specialist.id), "starts_at": starts_at.isoformat(), **extra})


def test_rules_are_read_by_anyone_and_replaced_by_the_specialist_or_an_admin(client, users, api_headers):
    specialist = users["specialist"]
    assert client.get(rules_url(specialist), headers=api_headers(users["patient"])).json == {
        "max_upcoming_per_patient": 8, "min_notice_hours": 2, "booking_window_days": 365,
        "buffer_before_minutes": 0, "buffer_after_minutes": 0, "slot_interval_minutes": None}
    assert put_rules(client, specialist, api_headers(users["patient"])).status_code == 403
    assert put_rules(client, specialist, api_headers(users["other_specialist"])).status_code == 403
    response = put_rules(client, specialist, api_headers(specialist), max_upcoming_per_patient=3)
    assert response.status_code == 200 and response.json["max_upcoming_per_patient"] == 3
    assert put_rules(client, specialist, api_headers(users["admin"]), min_notice_hours=0).json["min_notice_hours"] == 0
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_rules_updated")).all()
    assert {(a.actor_id, a.old_values["max_upcoming_per_patient"], a.new_values["max_upcoming_per_patient"])
            for a in audit} == {(specialist.id, 8, 3), (users["admin"].id, 3, 8)}


@pytest.mark.parametrize("values, field", [
    ({"max_upcoming_per_patient": 0}, "max_upcoming_per_patient"),
    ({"min_notice_hours": -1}, "min_notice_hours"),
    ({"booking_window_days": "soon"}, "booking_window_days"),
    ({"booking_window_days": "over the cap"}, "booking_window_days"),  # MAX_BOOKING_AHEAD_DAYS + 1
])
def test_bad_rules_answer_400_with_the_field_and_change_nothing(app, client, users, api_headers, values, field):
    if values == {"booking_window_days": "over the cap"}:
        values = {"booking_window_days": app.config["MAX_BOOKING_AHEAD_DAYS"] + 1}
    specialist = users["specialist"]
    response = put_rules(client, specialist, api_headers(specialist), **values)
    assert response.status_code == 400
    assert response.json["success"] is False and field in response.json["fields"]
    assert client.get(rules_url(specialist), headers=api_headers(specialist)).json["booking_window_days"] == 365


def test_each_rule_answers_409_with_its_code(client, users, api_headers):
    specialist, headers = users["specialist"], api_headers(users["patient"])
    put_rules(client, specialist, api_headers(specialist), max_upcoming_per_patient=1, min_notice_hours=40,
              booking_window_days=10)
    ten = MONDAY.replace(hour=10)
    cases = [(ten + timedelta(days=1), None), (ten, "TOO_SHORT_NOTICE"),
             (ten + timedelta(days=14), "OUTSIDE_BOOKING_WINDOW"), (ten + timedelta(days=2), "BOOKING_LIMIT_REACHED")]
    for starts_at, code in cases:
        response = post_booking(client, headers, specialist, starts_at)
        if code is None:
            assert response.status_code == 201
            continue
        assert response.status_code == 409, response.json
        assert response.json["success"] is False and response.json["error"] == code
        assert response.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_admin_override_on_behalf_is_audited(client, users, api_headers):
    specialist, patient = users["specialist"], users["patient"]
    put_rules(client, specialist, api_headers(specialist), min_notice_hours=48)
    starts_at = MONDAY.replace(hour=10)
    admin = api_headers(users["admin"])
    refused = post_booking(client, admin, specialist, starts_at, patient_id=str(patient.id))
    assert refused.status_code == 409 and refused.json["error"] == "TOO_SHORT_NOTICE"
    booked = post_booking(client, admin, specialist, starts_at, patient_id=str(patient.id), override_rules=True)
    assert booked.status_code == 201
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking_created")).one()
    assert row.new_values["rules_overridden"] == ["TOO_SHORT_NOTICE"]
    patient_try = post_booking(client, api_headers(patient), specialist, starts_at + timedelta(hours=2),
                               override_rules=True)
    assert patient_try.status_code == 403


def test_slots_leave_out_what_the_rules_forbid(client, users, api_headers, make_booking):
    specialist, headers = users["specialist"], api_headers(users["patient"])
    url = f"/api/v1/specialists/{specialist.id}/slots?from=2030-01-07&to=2030-01-11"
    assert len(client.get(url, headers=headers).json) == 5 * 8
    put_rules(client, specialist, api_headers(specialist), min_notice_hours=34, booking_window_days=3)
    starts = [s["starts_at"] for s in client.get(url, headers=headers).json]
    assert starts[0] == "2030-01-07T10:00:00+00:00"  # Sunday 00:00 + 34 hours
    assert starts[-1] == "2030-01-08T16:00:00+00:00"  # 3 days ahead ends Wednesday 00:00
    put_rules(client, specialist, api_headers(specialist), max_upcoming_per_patient=1)
    make_booking(users["patient"], specialist, MONDAY.replace(hour=16) + timedelta(days=3))
    assert client.get(url, headers=headers).json == []
    assert client.get(url, headers=api_headers(users["other_patient"])).json  # others still see slots


# ---------- rate limits ----------

def test_writes_over_the_limit_answer_429_rate_limited_with_retry_after(app, client, users, api_headers,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "WRITE_RATE_LIMIT", "3 per minute")
    specialist = users["specialist"]
    headers = api_headers(specialist)
    statuses = [put_rules(client, specialist, headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = put_rules(client, specialist, headers)
    assert response.json["success"] is False and response.json["error"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    for _ in range(5):  # reads are not limited
        assert client.get(rules_url(specialist), headers=headers).status_code == 200
    other = api_headers(users["other_specialist"])  # another user has their own count
    assert put_rules(client, users["other_specialist"], other).status_code == 200


def test_bookings_have_their_own_tighter_limit_per_patient(app, client, users, api_headers, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_RATE_LIMIT", "2 per 10 minutes")
    specialist, headers = users["specialist"], api_headers(users["patient"])
    statuses = [post_booking(client, headers, specialist, MONDAY.replace(hour=h)).status_code for h in (10, 11, 12)]
    assert statuses == [201, 201, 429]
    assert post_booking(client, headers, specialist, MONDAY.replace(hour=13)).json["error"] == "RATE_LIMITED"
    other = api_headers(users["other_patient"])
    assert post_booking(client, other, specialist, MONDAY.replace(hour=14)).status_code == 201
    assert put_rules(client, specialist, api_headers(specialist)).status_code == 200  # other writes go on


def test_with_rate_limiting_turned_off_writes_and_sign_ins_are_not_counted(app, client, users, api_headers,
                                                                          monkeypatch):
    """RATELIMIT_ENABLED=false is Flask-Limiter's own switch: nothing is counted, nothing breaks."""
    from portal.extensions import limiter

    monkeypatch.setitem(app.config, "WRITE_RATE_LIMIT", "1 per minute")
    monkeypatch.setattr(limiter, "enabled", False)
    specialist = users["specialist"]
    headers = api_headers(specialist)
    assert [put_rules(client, specialist, headers).status_code for _ in range(3)] == [200, 200, 200]
    wrong = [client.post("/login", data={"email": specialist.email, "password": "wrong"}).status_code
             for _ in range(12)]
    assert 429 not in wrong and 500 not in wrong


def test_a_users_tokens_share_the_users_count_and_each_token_is_counted_too(app, client, users, api_headers,
                                                                             monkeypatch):
    from limits import parse

    from portal.extensions import limiter

    monkeypatch.setitem(app.config, "WRITE_RATE_LIMIT", "3 per minute")
    specialist = users["specialist"]
    laptop, script = api_headers(specialist), api_headers(specialist)
    assert [put_rules(client, specialist, laptop).status_code for _ in range(2)] == [200, 200]
    assert put_rules(client, specialist, script).status_code == 200
    assert put_rules(client, specialist, script).status_code == 429  # a second token is no way round the limit
    assert put_rules(client, specialist, laptop).status_code == 429
    token_key = "token:" + hashlib.sha256(script["Authorization"].split()[1].encode()).hexdigest()[:32]
    remaining = limiter.limiter.get_window_stats(parse("3 per minute"), "write", token_key).remaining
    assert remaining == 2  # its own count holds the one write it made (the refused one was not counted)


@pytest.fixture
def counters_unreachable(monkeypatch):
    """The rate limiter's storage pointed at a Redis that is not there (a closed port on 127.0.0.1)."""
    import socket

    from limits.storage import storage_from_string

    from portal.extensions import limiter

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = storage_from_string(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(limiter, "_limiter", type(limiter.limiter)(dead))
    monkeypatch.setattr(limiter, "_in_memory_fallback_enabled", False)


def test_when_the_counters_are_unreachable_writes_and_sign_ins_go_through(app, client, users, api_headers,
                                                                          monkeypatch, counters_unreachable, caplog):
    monkeypatch.setitem(app.config, "WRITE_RATE_LIMIT", "1 per minute")
    specialist = users["specialist"]
    headers = api_headers(specialist)
    assert [put_rules(client, specialist, headers).status_code for _ in range(3)] == [200, 200, 200]
    assert post_booking(client, api_headers(users["patient"]), specialist, MONDAY.replace(hour=10)).status_code == 201
    wrong = client.post("/login", data={"email": specialist.email, "password": "wrong"})
    assert wrong.status_code == 400 and b"E-mail or password is not right." in wrong.data
    right = client.post("/login", data={"email": users["patient"].email, "password": DEFAULT_PASSWORD})
    assert right.status_code == 302
    assert "rate-limit storage unavailable" in caplog.text
    assert specialist.email not in caplog.text
