"""The audit trail is written in the change's own transaction; refusals are audited too."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, User
from portal.services.audit import audit_failure, audit_record
from portal.services.users import user_create


def audit_rows(**filters) -> list[AuditLog]:
    query = sa.select(AuditLog).filter_by(**filters).order_by(AuditLog.created_at)
    return db.session.scalars(query).all()


def test_a_change_and_its_audit_row_commit_together(users):
    user = user_create(email="audited@example.test", password="long-enough-pw", role="patient",
                       actor=users["admin"])
    db.session.commit()
    [row] = audit_rows(entity_type="user", entity_id=str(user.id))
    assert (row.action, row.status, row.actor_id) == ("user_created", "success", users["admin"].id)
    assert row.new_values == {"role": "patient", "timezone": "UTC"}


def test_a_failed_change_leaves_neither_the_change_nor_its_audit_row(users):
    before = len(audit_rows())
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            user = user_create(email="rolled.back@example.test", password="long-enough-pw",
                               role="specialist", actor=users["admin"])
            assert audit_rows(entity_id=str(user.id))  # written, but not yet committed
            raise RuntimeError("the rest of the change failed")
    assert db.session.scalar(sa.select(User).where(User.email == "rolled.back@example.test")) is None
    assert len(audit_rows()) == before


def test_audit_failure_rolls_back_the_attempt_and_records_the_refusal(users):
    patient = users["patient"]
    db.session.add(User(email="half@example.test", email_normalized="half@example.test", role="patient",
                        password_hash="x", display_name="Half made"))
    db.session.flush()
    audit_failure(actor=patient, action="booking_cancel", entity_type="booking", entity_id="b-1",
                  error="FORBIDDEN", details={"booking_id": uuid.UUID(int=1)})
    assert db.session.scalar(sa.select(User).where(User.email == "half@example.test")) is None
    [row] = audit_rows(action="booking_cancel")
    assert (row.status, row.actor_id, row.entity_id) == ("failure", patient.id, "b-1")
    assert row.new_values == {"error": "FORBIDDEN", "booking_id": str(uuid.UUID(int=1))}
    assert db.session.get(User, patient.id) is not None  # what existed before stays


def test_system_actions_and_rich_values_are_stored_as_json(app):
    row = audit_record(actor=None, action="recurring_dispatch", entity_type="job",
                       old_values={"price": Decimal("10.50")},
                       new_values={"at": datetime(2027, 1, 1, 9, tzinfo=timezone.utc), "ids": {uuid.UUID(int=2)}},
                       status="success_with_errors")
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(AuditLog, row.id)
    assert stored.actor_id is None and stored.status == "success_with_errors"
    assert stored.old_values == {"price": "10.50"}
    assert stored.new_values == {"at": "2027-01-01T09:00:00+00:00", "ids": [str(uuid.UUID(int=2))]}
    assert stored.created_at.tzinfo is not None


def test_a_refused_sign_in_is_audited_by_id_without_the_email(client, users):
    client.post("/login", data={"email": users["patient"].email, "password": "wrong-password"})
    client.post("/login", data={"email": "nobody@example.test", "password": "wrong-password"})
    db.session.expire_all()
    known, unknown = audit_rows(action="login", status="failure")
    assert known.entity_id == str(users["patient"].id) and known.actor_id is None
    assert unknown.entity_id is None
    assert "@" not in str(known.new_values) + str(unknown.new_values)
