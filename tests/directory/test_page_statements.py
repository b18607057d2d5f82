"""What the specialist's page costs in statements, counted as bench/writes.py counts them: the
slot list (the busiest read of a clinic's morning) and booking one of its times through htmx
(whose answer shows the booking made, without reading the week again). A change that adds a
query to either shows here."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.statements import counted
from portal import clock
from portal.extensions import db

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
HX = {"HX-Request": "true"}
# (slot list, booking through the page). PostgreSQL takes the pair lock and writes the history,
# audit and mail rows in one statement; SQLite needs no lock and writes them one by one.
BUDGETS = {"postgresql": (9, 14), "sqlite": (9, 15)}


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(MONDAY - timedelta(days=1)):
        yield


def test_the_slot_list_and_a_booking_from_it_stay_within_their_statement_budget(client, users, login_as):
    specialist_id = users["specialist"].id
    login_as(users["patient"])
    db.session.expunge_all()  # as a request begins: nothing in the session yet
    with counted(db.engine) as slot_list:
        page = client.get(f"/specialists/{specialist_id}")
    assert page.status_code == 200 and 'value="2030-01-07T10:00:00+00:00"' in page.get_data(as_text=True)
    db.session.expunge_all()
    with counted(db.engine) as booking:
        booked = client.post(f"/specialists/{specialist_id}/book", headers=HX,
                             data={"starts_at": "2030-01-07T10:00:00+00:00"})
    assert booked.status_code == 200 and 'id="booking-done"' in booked.get_data(as_text=True)

    slot_list_budget, booking_budget = BUDGETS[db.engine.dialect.name]
    assert slot_list.count <= slot_list_budget, "\n".join(slot_list.sql)
    assert booking.count <= booking_budget, "\n".join(booking.sql)
