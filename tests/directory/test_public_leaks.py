"""Nothing private reaches a stranger: a crawl of every public page (following their links) and
every public API read, signed out, beside a clinic full of bookings, cancellations, notes, exceptions
and package enrolments, finds no patient's name or e-mail, no booking id, no note text and no
exception's reason; and the stranger's free times are the ones a patient with no bookings sees."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from urllib.parse import urlsplit

import pytest

from portal import clock
from portal.extensions import db
from portal.models import AvailabilityException, BookingCancellation, BookingPackage, PackageEnrolment, SessionNote

SUNDAY = datetime(2030, 1, 6, 12, tzinfo=UTC)
MAX_PAGES = 80


@pytest.fixture(autouse=True)
def _sunday():
    with clock.frozen(SUNDAY):
        yield


@pytest.fixture
def busy_clinic(users, make_booking):
    patient, specialist = users["patient"], users["specialist"]
    upcoming = make_booking(patient, specialist, datetime(2030, 1, 7, 10, tzinfo=UTC))
    cancelled = make_booking(patient, specialist, datetime(2030, 1, 8, 11, tzinfo=UTC), status="cancelled")
    past = make_booking(users["other_patient"], specialist, datetime(2029, 12, 3, 9, tzinfo=UTC),
                        status="completed")
    db.session.add(BookingCancellation(booking_id=cancelled.id, cancelled_by=patient.id,
                                       reason="Private: my divorce hearing moved"))
    db.session.add(SessionNote(booking_id=past.id, provider_id=specialist.id, notes="Private note: knee surgery",
                               follow_up_actions="Private follow-up: scan", next_session_recommendation=""))
    db.session.add(AvailabilityException(specialist_id=specialist.id, exception_date=date(2030, 1, 9),
                                         reason="sick_leave", is_available=False, all_day=True))
    package = BookingPackage(specialist_id=specialist.id, name="Five sessions", description="", session_count=5,
                             price=450, currency="USD", discount_percentage=10, is_active=True)
    db.session.add(package)
    db.session.flush()
    db.session.add(PackageEnrolment(package_id=package.id, patient_id=patient.id, specialist_id=specialist.id,
                                    package_name="Five sessions", credits_total=5, credits_used=1, price=450,
                                    currency="USD", paid_at=SUNDAY, starts_on=date(2030, 1, 1), status="active"))
    db.session.commit()
    return {"bookings": [upcoming, cancelled, past]}


def secrets_of(users, busy_clinic) -> list[str]:
    people = [users[role] for role in ("patient", "other_patient", "admin", "ops")]
    return [*(u.display_name for u in people), *(u.email for u in people),
            *(str(b.id) for b in busy_clinic["bookings"]),
            "divorce", "knee surgery", "follow-up: scan", "sick_leave", "Sick leave", "sick leave"]


def links_of(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'(?:href|action|hx-get)="([^"]+)"', page)]


def slot_buttons(page: str) -> list[str]:
    return re.findall(r'name="starts_at" value="([^"]+)"', page)


def crawl(client, start: list[str]) -> dict[str, str]:
    """Every same-site page reachable from `start` under /specialists, as a stranger sees it."""
    seen, queue = {}, list(start)
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        seen[path] = page = response.get_data(as_text=True)
        for starts_at in slot_buttons(page)[:2]:  # the review of a chosen time
            queue.append(f"{urlsplit(path).path.rstrip('/')}/review?starts_at={starts_at.replace('+', '%2B')}")
        queue.extend(link for link in links_of(page)
                     if link.startswith("/specialists") and not link.endswith(("/book", "/review"))
                     and link not in seen)
    return seen


def test_a_stranger_crawling_every_public_page_and_read_sees_nothing_private(app, client, users, busy_clinic):
    specialist = users["specialist"]
    pages = crawl(client, ["/specialists", "/specialists?q=Spec", f"/specialists/{specialist.id}"])
    reviews = [p for p in pages if "/review?" in p]
    assert len(pages) > 5 and reviews and any("week=" in p for p in pages)
    api = [f"/api/v1/specialists?q={q}" for q in ("", "Spec", "Pat")] + [
        "/api/v1/booking-packages", f"/api/v1/booking-packages?specialist_id={specialist.id}",
        f"/api/v1/specialists/{specialist.id}/services",
        f"/api/v1/specialists/{specialist.id}/slots?from=2030-01-06&to=2030-01-31"]
    reads = {**pages, **{path: client.get(path).get_data(as_text=True) for path in api}}
    leaks = [(path, secret) for path, body in reads.items() for secret in secrets_of(users, busy_clinic)
             if secret in body]
    assert leaks == []
    assert "Five sessions" in pages[f"/specialists/{specialist.id}"]  # the packages themselves are public
    assert "Pat" not in client.get("/api/v1/specialists?q=Pat").get_data(as_text=True)


def test_a_stranger_sees_the_free_times_a_patient_without_bookings_sees(app, client, users, busy_clinic, login_as):
    path = f"/specialists/{users['specialist'].id}"
    strangers = slot_buttons(client.get(path).get_data(as_text=True))
    assert "2030-01-07T10:00:00+00:00" not in strangers  # someone's booking
    assert not any(s.startswith("2030-01-09") for s in strangers)  # the day off
    login_as(users["other_patient"])
    assert slot_buttons(client.get(path).get_data(as_text=True)) == strangers
    login_as(users["patient"])
    own = client.get(path).get_data(as_text=True)
    assert "Your packages with Spec One" in own and "Five sessions" in own
