import re
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.models import BookingCancellation
from portal.services.audit import audit_record

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday; its week starts Mon 23 Nov


@pytest.fixture
def history(users, make_booking):
    p, s = users["patient"], users["specialist"]
    with clock.frozen(NOW - timedelta(weeks=1)):
        for day in range(3):  # week of 16 Nov: 3 bookings, 2 cancelled (patient, specialist)
            make_booking(p, s, datetime(2026, 11, 16 + day, 10, tzinfo=UTC))
        make_booking(p, s, datetime(2026, 11, 19, 15, tzinfo=UTC), status="no_show")  # and one missed
        b1 = make_booking(p, s, datetime(2026, 11, 20, 10, tzinfo=UTC), status="cancelled")
        b2 = make_booking(p, s, datetime(2026, 11, 20, 12, tzinfo=UTC), status="cancelled")
        db.session.add_all([BookingCancellation(booking_id=b1.id, cancelled_by=p.id, reason="x"),
                            BookingCancellation(booking_id=b2.id, cancelled_by=s.id, reason="y")])
        audit_record(actor=None, action="recurring_bookings_dispatched", entity_type="recurring_booking",
                     new_values={"dispatched": 7, "errors": 2}, status="success_with_errors")
    with clock.frozen(NOW - timedelta(weeks=40)):  # outside six months: not drawn
        make_booking(p, s, NOW - timedelta(weeks=40))
    db.session.flush()


@pytest.mark.parametrize("role,status", [("admin", 200), ("ops", 403), ("patient", 403), ("specialist", 403)])
def test_overview_access(login_as, users, client, role, status):
    login_as(users[role])
    assert client.get("/admin/").status_code == status


def test_overview_draws_weekly_charts_with_their_numbers(login_as, users, client, history):
    login_as(users["admin"])
    with clock.frozen(NOW):
        html = client.get("/admin/").get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script" not in html.split("</head>")[1]
    assert "Week of 16 Nov 2026: bookings 6</title>" in html
    assert "Week of 16 Nov 2026: by patient 1, by specialist 1, no-shows 1</title>" in html
    assert "Week of 16 Nov 2026: dispatched 7, skipped 2</title>" in html
    assert "Week of 23 Nov 2026: none</title>" in html
    assert len(re.findall(r"<title>Week of ", html)) == 3 * 26
    assert "25 May 2026" not in html and "01 Jun 2026" in html  # the oldest of 26 weeks
    # the tables hold the same numbers
    table = html[html.index('id="chart-cancellations"'):html.index('id="chart-dispatcher"')]
    assert re.search(r"<td>16 Nov 2026</td><td class=\"num\">1</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">0</td>", table)
