"""Cancelling bookings: the service, the booking-cancel function and its error codes,
refusal audits, immutability, the freed slot and the backfill command."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditLog, Booking, BookingCancellation, BookingStatusHistory
from portal.services.bookings import booking_create
from portal.services.cancellations import SUCCESS_MESSAGE, booking_cancel

URL = "/functions/booking-cancel"
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def sentry_events():
    """Sentry on, with a transport that keeps envelopes instead of sending them."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from portal.web.monitoring import scrub_event

    envelopes = []

    class Capturing(Transport):
        def capture_envelope(self, envelope):
            envelopes.append(envelope)

    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Capturing(),
                    before_send=scrub_event, default_integrations=False)

    def events():
        sentry_sdk.flush()
        return [item.payload.json for env in envelopes for item in env.items if item.type == "event"]

    yield events
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


@pytest.fixture
def booking(users, make_booking):
    return make_booking(users["patient"], users["specialist"],
                        clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2))


def cancel(client, headers, booking_id, reason="personal emergency", **kwargs):
    return client.post(URL, json={"booking_id": str(booking_id), "reason": reason}, headers=headers, **kwargs)


def cancellations_of(booking_id):
    db.session.expire_all()
    return db.session.scalars(sa.select(BookingCancellation).where(
        BookingCancellation.booking_id == booking_id)).all()


def audits(action="booking_cancelled"):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


@pytest.mark.parametrize("who", ["patient", "specialist"])
def test_either_party_cancels_in_one_transaction(client, api_headers, users, booking, who):
    response = cancel(client, api_headers(users[who]), booking.id, "  personal emergency ")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and body["message"].startswith(SUCCESS_MESSAGE)
    late = db.session.scalars(sa.select(BookingCancellation.is_late)).one()
    assert ("This is a late cancellation" in body["message"]) is late
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    [record] = cancellations_of(booking.id)
    assert (record.cancelled_by, record.reason, record.cancellation_policy_applied) == (
        users[who].id, "personal emergency", "no_refund")
    history = db.session.scalars(sa.select(BookingStatusHistory).where(
        BookingStatusHistory.booking_id == booking.id, BookingStatusHistory.to_status == "cancelled")).all()
    assert [(h.from_status, h.changed_by) for h in history] == [("confirmed", users[who].id)]
    [entry] = audits()
    assert entry.status == "success" and entry.actor_id == users[who].id
    assert entry.entity_id == str(booking.id)
    assert "personal emergency" not in str(entry.new_values) + str(entry.old_values)


def test_session_login_works_too(login_as, users, booking):
    client = login_as(users["patient"])
    assert cancel(client, {}, booking.id).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "booking_id"),
    ({"booking_id": "00000000-0000-0000-0000-000000000000"}, "reason"),
    ({"booking_id": "not-a-uuid", "reason": "x"}, "booking_id"),
    ({"booking_id": "{id}", "reason": "   "}, "reason"),
    ({"booking_id": "{id}", "reason": "x" * 1001}, "reason"),
    ({"booking_id": "{id}", "reason": 42}, None),
    ({"booking_id": ["{id}"], "reason": "x"}, None),
])
def test_invalid_requests_are_400_and_change_nothing(client, api_headers, users, booking, body, field):
    body = {k: (v.replace("{id}", str(booking.id)) if isinstance(v, str) and k == "booking_id" else v)
            for k, v in body.items()}
    response = client.post(URL, json=body, headers=api_headers(users["patient"]))
    assert response.status_code == 400
    data = response.get_json()
    assert data["success"] is False and data["error"] == "INVALID_REQUEST" and data["message"]
    if field:
        assert field in data.get("fields", {})
    assert cancellations_of(booking.id) == []
    assert db.session.get(Booking, booking.id).status == "confirmed"


@pytest.mark.parametrize("raw, content_type", [
    ("not json", "application/json"), ("[1, 2]", "application/json"), ("", None),
    ("booking_id=1&reason=x", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_json_object_is_400(client, api_headers, users, raw, content_type):
    response = client.post(URL, data=raw, content_type=content_type, headers=api_headers(users["patient"]))
    assert response.status_code == 400
    assert response.get_json()["error"] == "INVALID_REQUEST"


def test_a_reason_of_exactly_1000_characters_is_accepted(client, api_headers, users, booking):
    assert cancel(client, api_headers(users["patient"]), booking.id, "y" * 1000).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}])
def test_unauthenticated_is_401(client, booking, headers):
    response = cancel(client, headers, booking.id)
    assert response.status_code == 401
    assert response.get_json()["error"] == "UNAUTHORIZED"
    assert cancellations_of(booking.id) == []


def test_unknown_booking_is_404(client, api_headers, users):
    response = cancel(client, api_headers(users["patient"]), uuid.uuid4())
    assert (response.status_code, response.get_json()["error"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("who", ["other_patient", "other_specialist", "admin", "ops"])
def test_anyone_but_the_parties_is_403_not_your_booking(client, api_headers, users, booking, who):
    response = cancel(client, api_headers(users[who]), booking.id)
    assert response.status_code == 403
    assert response.get_json()["error"] == "FORBIDDEN"
    assert "Not your booking" in response.get_json()["message"]
    assert cancellations_of(booking.id) == []
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_second_cancel_is_409_already_cancelled(client, api_headers, users, booking):
    assert cancel(client, api_headers(users["patient"]), booking.id).status_code == 200
    response = cancel(client, api_headers(users["specialist"]), booking.id, "again")
    assert (response.status_code, response.get_json()["error"]) == (409, "ALREADY_CANCELLED")
    [record] = cancellations_of(booking.id)
    assert record.cancelled_by == users["patient"].id


@pytest.mark.parametrize("offset_minutes, status", [(-30, "confirmed"), (-24 * 60, "confirmed"),
                                                    (0, "confirmed"), (120, "completed")])
def test_started_ended_or_completed_booking_is_422(client, api_headers, users, make_booking,
                                                    offset_minutes, status):
    starts = clock.now().replace(microsecond=0) + timedelta(minutes=offset_minutes)
    past = make_booking(users["patient"], users["specialist"], starts, status=status)
    with clock.frozen(starts if offset_minutes == 0 else clock.now()):
        response = cancel(client, api_headers(users["patient"]), past.id)
    assert (response.status_code, response.get_json()["error"]) == (422, "BOOKING_IN_PAST")
    assert cancellations_of(past.id) == []


def test_refusals_are_audited_as_failures_without_the_reason(client, api_headers, users, booking):
    cancel(client, api_headers(users["other_patient"]), booking.id, "secret words")
    cancel(client, api_headers(users["patient"]), uuid.uuid4(), "secret words")
    entries = audits()
    assert sorted(e.new_values["error"] for e in entries) == ["FORBIDDEN", "NOT_FOUND"]
    assert {e.status for e in entries} == {"failure"}
    assert all("secret" not in str(e.new_values) for e in entries)


def test_the_cancelled_slot_can_be_booked_again(make_specialist, make_user):
    specialist, patient, other = make_specialist(), make_user("patient"), make_user("patient")
    with clock.frozen(MONDAY - timedelta(days=1)):
        first = booking_create(actor=patient, patient=patient, specialist_id=specialist.id,
                               starts_at=MONDAY.replace(hour=10))
        booking_cancel(actor=patient, booking_id=first.id, reason="moving")
        again = booking_create(actor=other, patient=other, specialist_id=specialist.id,
                               starts_at=MONDAY.replace(hour=10))
    assert (first.status, again.status) == ("cancelled", "confirmed")


def test_the_service_refuses_without_touching_the_callers_transaction(users, booking, make_booking):
    from portal.services.cancellations import AlreadyCancelled

    booking_cancel(actor=users["specialist"], booking_id=booking.id, reason="exception placed")
    with pytest.raises(AlreadyCancelled):
        booking_cancel(actor=users["specialist"], booking_id=booking.id, reason="again")
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert len(cancellations_of(booking.id)) == 1


@pytest.mark.parametrize("failure", ["runtime", "sql"])
def test_an_unexpected_error_is_500_json_and_reported_without_the_reason(
        client, api_headers, users, booking, monkeypatch, sentry_events, failure):
    from portal.services import cancellations

    reason = "my private " + "diagnosis"  # not a literal, so the test's own source lines cannot match

    def broken(*args, **kwargs):
        if failure == "sql":  # a database error's message lists the statement's parameters
            raise sa.exc.OperationalError("INSERT INTO booking_cancellations", {"reason": reason},
                                          Exception("disk on fire"))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cancellations, "booking_change_write", broken)
    headers = api_headers(users["patient"])
    response = cancel(client, headers, booking.id, reason)
    assert response.status_code == 500
    assert response.get_json()["success"] is False
    assert cancellations_of(booking.id) == []
    [event] = sentry_events()
    assert event["contexts"]["booking_cancel"] == {"booking_id": str(booking.id),
                                                   "user_id": str(users["patient"].id)}
    assert "disk on fire" in str(event["exception"])
    assert reason not in str(event)


def test_backfill_records_old_cancellations_once(runner, users, make_booking):
    old = make_booking(users["patient"], users["specialist"], status="cancelled")
    make_booking(users["patient"], users["specialist"], MONDAY)  # active: untouched
    result = runner.invoke(args=["backfill-cancellations"])
    assert result.exit_code == 0 and "Recorded 1 historical cancellation." in result.output
    [record] = cancellations_of(old.id)
    assert (record.cancelled_by, record.reason, record.cancellation_policy_applied) == (
        users["patient"].id, "historical_cancellation", "no_refund")
    again = runner.invoke(args=["backfill-cancellations"])
    assert "Recorded 0 historical cancellations." in again.output
    assert len(cancellations_of(old.id)) == 1


def test_cancellations_are_immutable(app, users, booking):
    from portal import policies

    booking_cancel(actor=users["patient"], booking_id=booking.id, reason="r")
    [record] = cancellations_of(booking.id)
    for who in ("patient", "specialist", "admin"):
        assert not policies.can("update", users[who], record)
        assert not policies.can("delete", users[who], record)
    assert policies.can("view", users["admin"], record)
    assert not policies.can("view", users["other_patient"], record)


def test_no_route_updates_or_deletes_a_cancellation(app, client, login_as, api_headers, users, booking):
    """Every route that takes a write method, tried by each role against a cancelled
    booking and its record: the record is the same afterwards."""
    booking_cancel(actor=users["patient"], booking_id=booking.id, reason="original")
    [record] = cancellations_of(booking.id)
    before = (record.id, record.reason, record.cancelled_by, record.created_at)
    writes = [(rule, method) for rule in app.url_map.iter_rules()
              for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert writes
    for who in ("patient", "specialist", "admin"):
        for rule, method in writes:
            login_as(users[who])
            values = {arg: str(record.id if "cancel" in arg else booking.id) for arg in rule.arguments}
            path = rule.rule
            for arg, value in values.items():
                path = path.replace(f"<{arg}>", value).replace(f"<uuid:{arg}>", value)
                path = path.replace(f"<string:{arg}>", value).replace(f"<path:{arg}>", value)
            if "<" in path:
                continue
            client.open(path, method=method, json={"booking_id": str(booking.id), "reason": "changed"},
                        headers=api_headers(users[who]))
            client.open(path, method=method, data={"reason": "changed", "status": "confirmed"})
    [after] = cancellations_of(booking.id)
    assert (after.id, after.reason, after.cancelled_by, after.created_at) == before
    assert db.session.get(Booking, booking.id).status == "cancelled"
