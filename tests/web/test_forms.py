"""One way to post a form (portal.web.forms): a refused form comes back with its error
and status 422 for htmx and plain browsers alike, its writes undone, its refusal audited once."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, SpecialistRate

HX = {"HX-Request": "true"}
BAD_RATE = {"duration_minutes": "2", "price": "80", "currency": "USD", "effective_from": "2030-01-01"}


def failure_rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.status == "failure")).all()


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_refused_form_is_422_with_its_error_and_changes_nothing(client, users, login_as, headers):
    login_as(users["specialist"])
    rates_before = db.session.query(SpecialistRate).count()
    response = client.post("/specialist/availability/rates", data=BAD_RATE, headers=headers)
    assert response.status_code == 422
    assert "Between 5 and 480" in response.get_data(as_text=True)
    assert db.session.query(SpecialistRate).count() == rates_before
    [row] = failure_rows()  # noted by the service error and by the form helper: one row
    assert row.actor_id == users["specialist"].id and row.action.startswith("refused_")


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_form_that_fails_its_own_checks_is_422_too(client, users, login_as, headers):
    login_as(users["specialist"])
    response = client.post("/specialist/calendar/day/2030-01-07/exceptions", headers=headers, data={
        "span": "range", "start_time": "15:00", "end_time": "14:00", "reason": "training"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The end must be after the start" in html and ("<html" in html) is not bool(headers)


def test_htmx_is_told_to_swap_422(client, users, login_as):
    html = login_as(users["specialist"]).get("/specialist/availability").get_data(as_text=True)
    assert '{"code": "422", "swap": true, "error": false}' in html
