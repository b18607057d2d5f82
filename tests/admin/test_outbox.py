"""The admin's outbox list and its status filter."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Outbox
from portal.services.outbox import outbox_add
from tests.conftest import keep_fixture_rows


def test_the_status_filter_shows_only_that_status_and_answers_200(client, users, login_as):
    for key, status in (("waiting", "pending"), ("gave-up", "failed")):
        message = outbox_add(recipient=users["patient"], template="booking_reminder", about={"booking_id": key},
                             dedup_key=key)
        db.session.execute(sa.update(Outbox).where(Outbox.id == message).values(status=status))
    keep_fixture_rows()
    login_as(users["admin"])

    response = client.get("/admin/outbox", query_string={"status": "pending"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '?status=pending" aria-current="page"' in page
    assert ">pending</span>" in page and ">failed</span>" not in page
