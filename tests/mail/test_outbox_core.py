"""outbox_add: one row per event, in the caller's transaction."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Outbox
from portal.services import ServiceError
from portal.services.mail_context import BUILDERS
from portal.services.outbox import outbox_add


def test_outbox_add_writes_once_per_dedup_key(app, users):
    patient = users["patient"]
    first = outbox_add(recipient=patient, template="booking_reminder", about={"booking_id": "x"}, dedup_key="k1")
    again = outbox_add(recipient=patient, template="booking_reminder", about={"booking_id": "y"}, dedup_key="k1")
    assert first is not None and again is None
    rows = db.session.scalars(sa.select(Outbox)).all()
    assert [(r.recipient_id, r.template, r.about, r.status, r.tries) for r in rows] == [
        (patient.id, "booking_reminder", {"booking_id": "x"}, "pending", 0)]


def test_outbox_add_joins_the_callers_transaction(app, users):
    with db.session.begin_nested() as outer:
        outbox_add(recipient=users["patient"], template="booking_reminder", about={}, dedup_key="k2")
        outer.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0


def test_unknown_template_is_refused(app, users):
    with pytest.raises(ServiceError):
        outbox_add(recipient=users["patient"], template="no_such_mail", about={}, dedup_key="k3")


def test_every_registered_type_has_both_templates(app):
    for name in BUILDERS:
        for suffix in ("txt", "html"):
            app.jinja_env.get_template(f"mail/{name}.{suffix}")
