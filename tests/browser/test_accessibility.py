"""axe-core on every page each role reaches, on a desktop and at 375 px wide.

The pages come from app.url_map (like the role matrix in tests/test_routes.py), so a
new page is checked without a new test; a URL argument nobody knows how to fill
fails the run until SAMPLES learns it. No violation of impact serious or critical
passes; a moderate or minor one passes only when tests/browser/axe_allowlist.json
names its rule with the reason it is accepted. Each page's screenshot at 1280 and at 375 px goes to
BROWSER_ARTIFACTS (else $ARTIFACTS_DIR/screens, else .artifacts/screens), for people to look at.
"""
from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, Booking, BookingPackage, MeetingRecording, Outbox, RecurringBooking, Role, User
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401 (the browser fixture's flags)
from tests.test_routes import route_access

pytestmark = pytest.mark.browser

ASSETS = Path(__file__).parent / "assets"
AXE = (ASSETS / "axe-4.14.1.min.js").read_text()
ALLOWLIST = json.loads((Path(__file__).parent / "axe_allowlist.json").read_text())
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS")
                 or Path(os.environ.get("ARTIFACTS_DIR", ".artifacts")) / "screens")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

# GET routes that answer no HTML page of their own: files, feeds, streams, polled fragments.
NOT_PAGES = {"admin.audit_csv", "admin.bookings_csv", "healthz", "feeds.feed", "bookings.recording_stream",
             "bookings.cancel_closed", "admin.ops_job", "static", "admin.outbox_body",
             "bookings.recording_open", "bookings.recording_watch", "account.data_download",
             "bookings.calendar_file", "patient.old_specialist_pages"}  # the last: a redirect to the directory
DEMO_LOGIN = {Role.PATIENT: "patient@demo.clinic", Role.SPECIALIST: "specialist@demo.clinic",
              Role.ADMIN: "admin@demo.clinic", Role.OPS: "ops@demo.clinic"}
# "zoom" is a 1280 px screen at 200 % zoom: 640 CSS pixels wide at twice the density.
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 375, "height": 740},
             "zoom": {"width": 640, "height": 430}}


def _first(query):
    return db.session.scalars(query.limit(1)).first()


def _booking_of(user: User):
    query = sa.select(Booking).order_by(Booking.starts_at.desc())
    if user.role == Role.PATIENT:
        query = query.where(Booking.patient_id == user.id)
    elif user.role == Role.SPECIALIST:
        query = query.where(Booking.specialist_id == user.id)
    return _first(query)


def _series_of(user: User):
    query = sa.select(RecurringBooking)
    if user.role in (Role.PATIENT, Role.SPECIALIST):
        column = RecurringBooking.user_id if user.role == Role.PATIENT else RecurringBooking.specialist_id
        query = query.where(column == user.id)
    return _first(query)


# How to fill each URL argument for a signed-in user (None: this user has no such row).
SAMPLES = {
    "booking_id": lambda user: getattr(_booking_of(user), "id", None),
    "specialist_id": lambda user: _first(sa.select(User.id).where(User.role == Role.SPECIALIST)),
    "series_id": lambda user: getattr(_series_of(user), "id", None),
    "entry_id": lambda user: _first(sa.select(AuditLog.id).order_by(AuditLog.created_at.desc())),
    "day": lambda user: date.today().isoformat(),
    "outbox_id": lambda user: _first(sa.select(Outbox.id).order_by(Outbox.created_at.desc())),
    "user_id": lambda user: _first(sa.select(User.id).where(User.role == Role.PATIENT)),
    "patient_id": lambda user: getattr(_booking_of(user), "patient_id", None),
    "recording_id": lambda user: _first(sa.select(MeetingRecording.id)),
    "package_id": lambda user: _first(sa.select(BookingPackage.id).where(BookingPackage.is_active.is_(True))),
    # a link's page with a token that is not valid: the "this link does not work" page
    "token": lambda user: "not-a-valid-token",
}


def pages_for(app, user: User) -> list[str]:
    """The paths of every HTML page `user` may open, with their arguments filled in."""
    paths, unknown = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if ("GET" not in rule.methods or rule.endpoint in NOT_PAGES
                or rule.rule.startswith(("/api/", "/functions/", "/admin/queues"))):
            continue
        allowed, _ = route_access(app, rule.endpoint)
        if allowed is None or not ({"anonymous", str(user.role)} & allowed):
            continue
        values = {}
        for name in rule.arguments:
            if name not in SAMPLES:
                unknown.append(f"{rule.rule} ({name})")
                continue
            values[name] = SAMPLES[name](user)
        if None in values.values() or len(values) < len(rule.arguments):
            continue
        with app.test_request_context():
            from flask import url_for

            paths.append(url_for(rule.endpoint, **values))
    assert unknown == [], "teach SAMPLES how to fill: " + ", ".join(unknown)
    return paths


def axe_violations(page) -> list[dict]:
    page.evaluate(AXE)
    return page.evaluate(
        """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
                 .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))""",
        WCAG_AA)


def unacceptable(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING or v["id"] not in ALLOWLIST]


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the viewport (wide tables scroll in their own box)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def demo_clinic(committed_db):
    from portal.cli.demo import seed_demo_data

    seed_demo_data()
    db.session.commit()
    return committed_db


@pytest.mark.parametrize("role", [Role.PATIENT, Role.SPECIALIST, Role.ADMIN, Role.OPS])
def test_every_page_passes_axe_on_desktop_and_phone(browser, live_server, demo_clinic, role):
    from tests.browser.conftest import sign_in

    user = db.session.scalar(sa.select(User).where(User.email == DEMO_LOGIN[role]))
    paths = pages_for(demo_clinic, user)
    assert paths, f"no page found for {role}"
    problems = []
    for viewport_name, viewport in VIEWPORTS.items():
        # axe is injected by the test, not served: bypass_csp lets it run beside the portal's CSP.
        context = browser.new_context(base_url=live_server, viewport=viewport, bypass_csp=True,
                                      device_scale_factor=2 if viewport_name == "zoom" else 1)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, user.email, "demo-password")
        for path in paths:
            page.goto(path)
            if viewport_name != "zoom":  # the same markup: axe once per layout that differs
                for violation in unacceptable(axe_violations(page)):
                    problems.append(f"{viewport_name} {path}: {violation['impact']} {violation['id']} "
                                    f"({violation['help']}) at {violation['nodes']}")
            if viewport_name != "desktop":
                overflow = horizontal_overflow(page)
                if overflow > 1:
                    problems.append(f"{viewport_name} {path}: {overflow}px of horizontal scroll")
            if viewport_name in ("desktop", "phone"):
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "id", f"{role}{path.replace('/', '_')}")
                page.screenshot(path=str(ARTIFACTS / f"{name}-{viewport['width']}.png"), full_page=True)
        context.close()
    assert problems == [], "\n".join(problems)


def test_the_checker_finds_a_violation(browser, live_server):
    """A page with an unlabelled input and low contrast text must fail: the check can fail."""
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    page = context.new_page()
    page.set_content('<html lang="en"><title>t</title><main><input type="text">'
                     '<p style="color:#bbb;background:#fff">faint</p></main></html>')
    ids = {v["id"] for v in unacceptable(axe_violations(page))}
    context.close()
    assert {"label", "color-contrast"} <= ids
