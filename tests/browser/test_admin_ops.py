import re
import sys
import types

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.services.audit import audit_record
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def dispatcher(monkeypatch):
    """The dispatch job's service, unless issue 5's portal.services.recurring has landed."""
    try:
        import portal.services.recurring  # noqa: F401
        return None
    except ImportError:
        pass
    module = types.ModuleType("portal.services.recurring")
    module.recurring_dispatch = lambda *, run_date=None: {
        "success": True, "message": "Dispatched 4 recurring bookings", "count": 4,
        "bookings": ["a", "b", "c", "d"], "errors": []}
    monkeypatch.setitem(sys.modules, "portal.services.recurring", module)
    return 4


def test_ops_user_runs_the_dispatcher_and_sees_the_count(page, create_committed_user, dispatcher):
    create_committed_user("ops", "ops@browser.test", display_name="Otto Ops")
    sign_in(page, "ops@browser.test")
    expect(page.locator("h1")).to_have_text("Operations")
    page.click("#run-dispatcher")
    status = page.locator("#job-status")
    expect(status).to_contain_text("Dispatcher finished")
    if dispatcher is not None:
        expect(status.locator(".job-count")).to_have_text(str(dispatcher))
    assert page.url.endswith("/admin/ops")  # htmx swapped the block; no navigation


def test_admin_filters_the_audit_log_to_a_cancellation(page, create_committed_user):
    admin = create_committed_user("admin", "admin@browser.test", display_name="Ada Admin")
    for i in range(5):
        audit_record(actor=admin, action="user_role_changed", entity_type="user", entity_id=f"u-{i}",
                     old_values={"role": "patient"}, new_values={"role": "ops"})
    audit_record(actor=admin, action="booking_cancelled", entity_type="booking", entity_id="b-42",
                 old_values={"status": "confirmed"}, new_values={"status": "cancelled"})
    db.session.commit()
    sign_in(page, "admin@browser.test")
    page.click("nav.mainnav >> text=Audit log")
    rows = page.locator("#audit-results tbody tr")
    expect(rows).to_have_count(8)  # 6 rows above, the admin's account and login
    page.fill("#f-action", "booking_cancelled")
    page.press("#f-action", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("booking_cancelled")
    expect(page).to_have_url(re.compile(r"action=booking_cancelled"))
    rows.first.locator("text=Details").click()
    expect(page.locator(".audit-diff tr.changed")).to_contain_text("status")
    expect(page.locator(".audit-diff .diff-old")).to_contain_text("confirmed")
    expect(page.locator(".audit-diff .diff-new")).to_contain_text("cancelled")
