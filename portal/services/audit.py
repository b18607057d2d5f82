"""The audit trail. Every state change records itself here, in the same
transaction as the change: a change that rolls back leaves no audit row.

Refused actions are recorded with status "failure" through `audit_failure`,
which writes in its own short transaction because the caller's is about to
roll back."""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog
from portal.models.types import new_id, utcnow

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def audit_values(*, actor, action: str, entity_type: str, entity_id: Any = None,
                 old_values: dict | None = None, new_values: dict | None = None,
                 status: str = "success") -> dict:
    """An audit row's columns, every one given."""
    return {
        "id": new_id(),
        "actor_id": getattr(actor, "id", actor) if actor is not None else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id) if entity_id is not None else None,
        "old_values": _jsonable(old_values) if old_values is not None else None,
        "new_values": _jsonable(new_values) if new_values is not None else None,
        "status": status,
        "created_at": utcnow(),
    }


def audit_record(*, actor, action: str, entity_type: str, entity_id: Any = None,
                 old_values: dict | None = None, new_values: dict | None = None,
                 status: str = "success") -> AuditLog:
    """Add an audit row to the current transaction."""
    entry = AuditLog(**audit_values(actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                                    old_values=old_values, new_values=new_values, status=status))
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_insert(**fields) -> sa.Insert:
    """The INSERT of an audit row (audit_values' arguments), for a caller writing it beside
    other rows in one statement (models.bulk.write_together)."""
    return sa.insert(AuditLog).values(audit_values(**fields))


def audit_failure(*, actor, action: str, entity_type: str, entity_id: Any = None,
                  error: str, details: dict | None = None) -> None:
    """Record a refused action after rolling back whatever the attempt had started."""
    from flask import g, has_request_context

    if has_request_context():
        g.refusal_audited = True  # portal.web.refusals need not record this request again
    db.session.rollback()
    values = {"error": error, **(details or {})}
    try:
        audit_record(actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                     new_values=values, status="failure")
        db.session.commit()
    except Exception:  # the refusal stands even if its audit row cannot be written
        db.session.rollback()
        log.exception("could not audit refused %s on %s %s", action, entity_type, entity_id)


def changed_fields(row, values: dict) -> tuple[dict, dict]:
    """Old and new values of the fields that `values` would change on `row`."""
    old, new = {}, {}
    for key, value in values.items():
        current = getattr(row, key)
        if current != value:
            old[key], new[key] = current, value
    return old, new
