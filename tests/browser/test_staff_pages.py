"""In a real browser, the staff pages: working hours picked as times, the specialist's week,
packages whose price and discount agree, the audit export, the users table and the ops page."""
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Booking, Service, SpecialistRate, WorkingHours
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def specialist(create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr Sam Lee")
        db.session.add_all([WorkingHours(specialist_id=specialist.id, weekday=d, start_time=time(9),
                                         end_time=time(17)) for d in range(5)])
        db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=Decimal(80),
                                      currency="EUR", effective_from=date(2029, 1, 1)))
        db.session.commit()
        yield specialist


def test_working_hours_are_picked_as_times_and_bad_ranges_change_nothing(page, specialist):
    sign_in(page, "spec@browser.test")
    page.goto("/specialist/availability")
    monday = page.locator("#hours-day0")
    expect(monday.locator("input[name=start0]").first).to_have_attribute("type", "time")
    expect(monday.locator("input[name=start0]").first).to_have_value("09:00")
    saturday = page.locator("#hours-day5")
    saturday.get_by_label("From").fill("12:00")
    saturday.get_by_label("to").fill("10:00")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator("#working-hours .flash-error")).to_have_text("Each range must end after it starts.")
    expect(page.locator("#hours-day5 input[name=start5]").first).to_have_value("12:00")  # kept as typed

    page.goto("/specialist/availability")
    expect(page.locator("#hours-day5 legend")).to_contain_text("day off")
    page.locator("#hours-day5").get_by_label("From").fill("10:00")
    page.locator("#hours-day5").get_by_label("to").fill("12:30")
    page.get_by_role("button", name="Save hours").click()
    expect(page.locator(".flash-success")).to_contain_text("Weekly hours saved")
    page.reload()
    expect(page.locator("#hours-day5 input[name=start5]").first).to_have_value("10:00")
    expect(page.locator("#hours-day5 input[name=end5]").first).to_have_value("12:30")


@pytest.fixture
def week_of_sessions(specialist, create_committed_user, live_portal):
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Doe")
        other = create_committed_user("patient", "kim@browser.test", display_name="Kim Roe")
        massage = Service(specialist_id=specialist.id, name="Sports massage")
        db.session.add(massage)
        db.session.flush()
        for who, starts, status, service in [(patient, MONDAY + timedelta(hours=10), "confirmed", massage.id),
                                             (other, MONDAY + timedelta(days=1, hours=11), "cancelled", None)]:
            db.session.add(Booking(patient_id=who.id, specialist_id=specialist.id, starts_at=starts,
                                   ends_at=starts + timedelta(hours=1), status=status, price=Decimal(80),
                                   currency="EUR", service_id=service))
        db.session.commit()
        yield specialist


def test_the_week_view_names_patients_and_services_and_keeps_its_url(page, week_of_sessions, live_portal):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        sign_in(page, "spec@browser.test")
        page.goto("/specialist/calendar?month=2030-01")
        for day in ("2030-01-07", "2030-01-08", "2030-01-09", "2030-01-08"):
            page.click(f'a.day[data-date="{day}"]')
            expect(page).to_have_url(f"/specialist/calendar?view=month&month=2030-01&day={day}")
        expect(page.locator("#day-panel h2")).to_have_text("Tuesday 08 January 2030")
        expect(page.locator('a.day[data-date="2030-01-08"]')).to_be_focused()

        page.get_by_role("link", name="Week", exact=True).click()
        expect(page).to_have_url("/specialist/calendar?view=week&day=2030-01-08")
        week = page.locator(".week-grid")
        monday = week.locator(".week-day").nth(0)
        expect(monday.locator(".week-session")).to_contain_text("Pat Doe")
        expect(monday.locator(".week-session")).to_contain_text("Sports massage")
        cancelled = week.locator(".week-day").nth(1).locator(".week-session")
        expect(cancelled).to_contain_text("Kim Roe")
        expect(cancelled).to_contain_text("Cancelled")
        expect(cancelled).to_have_class("week-session session-cancelled")
        assert float(cancelled.locator("a").evaluate("a => getComputedStyle(a).opacity")) < 1

        week.locator('a.week-day-head[data-date="2030-01-07"]').click()
        expect(page).to_have_url("/specialist/calendar?view=week&week=2030-01-07&day=2030-01-07")
        page.reload()
        expect(page.locator("#day-panel h2")).to_have_text("Monday 07 January 2030")
        expect(page.get_by_role("link", name="Week", exact=True)).to_have_attribute("aria-current", "page")
        page.go_back()
        expect(page).to_have_url("/specialist/calendar?view=week&day=2030-01-08")
        expect(page.locator("#day-panel h2")).to_have_text("Tuesday 08 January 2030")

        page.goto("/specialist/calendar")  # the last view chosen
        expect(page.locator(".week-grid")).to_be_visible()
    assert errors == []


def test_on_a_phone_the_picked_day_opens_at_the_top(browser, live_server, week_of_sessions, live_portal):
    context = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740})
    page = context.new_page()
    with live_portal.frozen(MONDAY - timedelta(days=1)):
        sign_in(page, "spec@browser.test")
        page.goto("/specialist/calendar?view=month&month=2030-01")
        page.click('a.day[data-date="2030-01-30"]')
        expect(page.locator("#day-panel h2")).to_have_text("Wednesday 30 January 2030")
        page.wait_for_function("Math.abs(document.getElementById('day-panel').getBoundingClientRect().top) < 40")
    context.close()


def test_an_admin_cannot_deactivate_themselves_and_confirms_deactivating_others(page, create_committed_user):
    create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    create_committed_user("patient", "pat@browser.test", display_name="Pat Doe")
    sign_in(page, "admin@browser.test")
    page.goto("/admin/users")
    own = page.locator("tr", has_text="Ada Admin")
    own.get_by_text("Manage").click()
    expect(own).to_contain_text("another administrator changes its role or deactivates it")
    expect(own.get_by_role("link", name="Deactivate…")).to_have_count(0)
    expect(own.locator("select")).to_have_count(0)

    row = page.locator("tr", has_text="Pat Doe")
    row.get_by_text("Manage").click()
    row.get_by_role("link", name="Deactivate…").click()
    expect(row).to_contain_text("Deactivate Pat Doe?")
    row.get_by_role("link", name="Keep active").click()
    expect(row.locator(".badge")).to_have_text("active")
    row.get_by_text("Manage").click()
    row.get_by_role("link", name="Deactivate…").click()
    row.get_by_role("button", name="Deactivate").click()
    expect(row.locator("[role=status]")).to_have_text(
        "Pat Doe is deactivated: signed out everywhere, API tokens revoked.")
    expect(row.locator(".badge")).to_have_text("deactivated")


CLIPPED = """cell => {
  const wrap = cell.closest('.table-wrap') || document.documentElement;
  const limit = Math.min(wrap.getBoundingClientRect().right, document.documentElement.clientWidth);
  return [...cell.querySelectorAll('button, a')].filter(el => el.getClientRects().length).map(el => {
    const box = el.getBoundingClientRect();
    const cut = box.right > limit + 0.5 || box.left < 0 || el.scrollWidth > el.clientWidth + 1;
    return cut ? el.textContent.trim() : null;
  }).filter(Boolean);
}"""


@pytest.mark.parametrize("width", [375, 1280])
def test_the_patients_recurring_list_keeps_its_actions_whole(browser, live_server, create_committed_user, width):
    from portal.models import RecurringBooking

    patient = create_committed_user("patient", "pat@browser.test", display_name="Pat Doe")
    specialist = create_committed_user("specialist", "spec@browser.test", display_name="Dr Sam Lee")
    db.session.add(RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                                    start_date=date(2030, 1, 7), time_of_day=time(10), is_active=True,
                                    next_booking_date=date(2030, 1, 7), next_occurrence_index=0))
    db.session.commit()
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800})
    page = context.new_page()
    sign_in(page, "pat@browser.test")
    page.goto("/recurring/")
    cell = page.locator("#series-list td.actions").first
    expect(cell.get_by_role("button", name="Pause")).to_be_visible()
    cell.scroll_into_view_if_needed()
    assert cell.evaluate(CLIPPED) == []
    context.close()


@pytest.fixture
def demo_data(committed_db):
    from portal.cli.demo import seed_demo_data

    seed_demo_data()
    db.session.commit()


@pytest.mark.parametrize("width", [1280, 375])
def test_the_staff_views_no_url_reaches_pass_axe_and_are_photographed(browser, live_server, demo_data, width):
    """The states the page walk of test_accessibility does not open: the week view, a note being
    written, a deactivation being confirmed. Screenshots go beside the others as staff-*.png."""
    import sqlalchemy as sa

    from portal.models import User
    from tests.browser.test_accessibility import ARTIFACTS, axe_violations, unacceptable

    booking = db.session.scalars(sa.select(Booking).join(User, User.id == Booking.specialist_id)
                                 .where(User.email == "specialist@demo.clinic")
                                 .order_by(Booking.starts_at.desc())).first()
    problems = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(page, name):
        problems.extend(f"{name} {width}: {v['impact']} {v['id']} at {v['nodes']}"
                        for v in unacceptable(axe_violations(page)))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            problems.append(f"{name} {width}: {overflow}px of horizontal scroll")
        page.screenshot(path=str(ARTIFACTS / f"staff-{name}-{width}.png"), full_page=True)

    for email, steps in [
        ("specialist@demo.clinic", [("calendar-week", "/specialist/calendar?view=week", None),
                                    ("availability", "/specialist/availability", None),
                                    ("note-form", f"/bookings/{booking.id}?add_note=1", None)]),
        ("admin@demo.clinic", [("users-confirm", "/admin/users", "confirm"), ("ops", "/admin/ops", None),
                               ("audit", "/admin/audit?action=user_login", None)]),
    ]:
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 800},
                                      bypass_csp=True)
        page = context.new_page()
        sign_in(page, email, "demo-password")
        for name, path, action in steps:
            page.goto(path)
            if action == "confirm":
                row = page.locator("tr", has_text="Sam Taylor")
                row.get_by_text("Manage").click()
                row.get_by_role("link", name="Deactivate…").click()
                expect(row).to_contain_text("Deactivate Sam Taylor?")
            check(page, name)
        context.close()
    assert problems == [], "\n".join(problems)
