"""outbox_add: one row per event, in the caller's transaction."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from portal import clock
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import AuditLog, Outbox, User
from portal.services.mail_context import BUILDERS
from portal.services.outbox import outbox_add
from tests.conftest import require_or_skip


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


def test_a_key_written_meanwhile_by_another_transaction_writes_nothing_and_keeps_the_callers_work(committed_db):
    """Two requests owing the same message at once (PostgreSQL, two connections): the second
    waits for the first, writes nothing once it commits, and its own change still commits."""
    if db.engine.dialect.name != "postgresql":
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    from portal.services.audit import audit_record
    from portal.services.users import user_create

    patient = user_create(email="outbox-race@example.test", password="x" * 12, role="patient")
    db.session.commit()
    outcome = {}

    def second_writer():
        with committed_db.app_context():
            try:
                audit_record(actor=None, action="second_writer_change", entity_type="user", entity_id=patient.id)
                outcome["id"] = outbox_add(recipient=db.session.get(User, patient.id), template="booking_reminder",
                                           about={"booking_id": "second"}, dedup_key="race-key")
                db.session.commit()
            finally:  # its connection goes back to the pool whatever happened
                db.session.remove()

    with db.engine.connect() as first:
        first.execute(sa.insert(Outbox.__table__).values(
            id=uuid.uuid4(), recipient_id=patient.id, template="booking_reminder", about={"booking_id": "first"},
            dedup_key="race-key", status="pending", tries=0, next_attempt_at=clock.now(), created_at=clock.now()))
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the first writer's key
        first.commit()
    thread.join(10)

    assert not thread.is_alive() and outcome["id"] is None
    db.session.expire_all()
    assert db.session.scalars(sa.select(Outbox.about).where(Outbox.dedup_key == "race-key")).all() == [
        {"booking_id": "first"}]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "second_writer_change")) == 1
