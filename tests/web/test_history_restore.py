"""The back button: htmx's history restore (a cache miss) sends HX-Request with
HX-History-Restore-Request and swaps the answer in as the whole body, so every
page answers it with the whole page, never a fragment."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from portal import clock
from portal.models import RecurringBooking
from portal.services.audit import audit_record
from tests.conftest import keep_fixture_rows
from tests.test_routes import API_PREFIXES, route_access

RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
NOT_PAGES = {  # endpoints that answer files, not HTML pages
    "feeds.feed": "an iCalendar feed", "admin.audit_csv": "a CSV download", "admin.bookings_csv": "a CSV download",
    "bookings.recording_stream": "a video stream", "healthz": "a JSON health check",
    "admin.outbox_body": "a message's own HTML, framed by the mailbox page",
    "account.data_download": "a JSON file of the patient's data", "bookings.calendar_file": "one session as .ics",
    "patient.old_specialist_pages": "a redirect to the public directory",
}
ROLE_ORDER = ("patient", "specialist", "admin", "ops")


@pytest.fixture
def targets(users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], clock.now() + timedelta(days=2))
    series = RecurringBooking(user_id=users["patient"].id, specialist_id=users["specialist"].id,
                              frequency="weekly", start_date=clock.today() + timedelta(days=7),
                              next_booking_date=clock.today() + timedelta(days=7))
    from portal.extensions import db

    db.session.add(series)
    from decimal import Decimal

    from portal.models import BookingPackage

    package = BookingPackage(specialist_id=users["specialist"].id, name="Three", session_count=3, price=Decimal(90))
    db.session.add(package)
    entry = audit_record(actor=users["admin"], action="test_entry", entity_type="booking", entity_id=booking.id)
    from portal.services.outbox import outbox_add

    message = outbox_add(recipient=users["patient"], template="booking_confirmed",
                         about={"booking_id": booking.id}, dedup_key=f"history-test:{booking.id}")
    keep_fixture_rows()
    return {"booking_id": booking.id, "series_id": series.id, "specialist_id": users["specialist"].id,
            "entry_id": entry.id, "job_id": uuid.uuid4(), "day": clock.today().isoformat(),
            "outbox_id": message, "user_id": users["patient"].id, "recording_id": uuid.uuid4(),
            "patient_id": users["patient"].id, "package_id": package.id,
            "code": "not-a-code", "token": "not-a-token"}


def page_routes(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint != "static"
                   and not rule.rule.startswith(API_PREFIXES) and not rule.rule.startswith("/admin/queues")),
                  key=lambda rule: rule.rule)


def test_every_get_page_answers_a_history_restore_with_the_whole_page(app, client, users, login_as, targets):
    checked, wrong = [], []
    for rule in page_routes(app):
        if rule.endpoint in NOT_PAGES:
            continue
        missing = set(rule.arguments) - set(targets)
        assert not missing, f"{rule.rule}: give the test a value for {missing}"
        allowed, _ = route_access(app, rule.endpoint)
        role = next((r for r in ROLE_ORDER if r in allowed), None)
        if role:
            login_as(users[role])
        else:
            client.post("/logout")
        path = rule.build({name: targets[name] for name in rule.arguments}, append_unknown=False)[1]
        response = client.get(path, headers=RESTORE, follow_redirects=True)
        body = response.get_data(as_text=True)
        checked.append(rule.rule)
        if response.mimetype != "text/html" or "<html" not in body or "</body>" not in body:
            wrong.append(f"{rule.rule} as {role}: {response.status_code} {response.mimetype} {len(body)} bytes")
    assert wrong == []
    assert {"/specialists", "/specialist/calendar", "/admin/audit", "/bookings/<uuid:booking_id>",
            "/admin/users", "/specialist/notes"} <= set(checked)


def test_the_issues_example_page_is_whole_on_restore_and_a_fragment_otherwise(client, users, login_as):
    login_as(users["patient"])
    fragment = client.get("/specialists?q=Spec", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Spec One" in fragment
    whole = client.get("/specialists?q=Spec", headers=RESTORE)
    assert "<html" in whole.get_data(as_text=True) and "Spec One" in whole.get_data(as_text=True)
    assert "HX-Request" in whole.headers["Vary"]
