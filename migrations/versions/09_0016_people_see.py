"""What people see: "available only" needs a time range; the spec's homework_completion key.

1. An all-day exception with is_available true opened all 24 hours of its day
   (a 03:20 booking was accepted). "Available only" now needs a time range, and a
   CHECK constraint keeps that shape out. Existing rows of that shape said
   nothing the weekly hours do not already say, except to open the night: they
   are removed, each one written to the audit log (actor: none) with its values,
   so that an administrator can see what was there and put a range back.
2. Session notes' metadata key homework_completed becomes the spec's
   homework_completion (the value is kept; an existing homework_completion wins).

Downgrade drops the constraint and renames the key back; removed rows are not
restored (their audit rows say what they were).

Revision ID: 0016_people_see
Revises: 0014_accounts
"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016_people_see"
down_revision = "0014_accounts"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CHECK_NAME = "ck_specialist_availability_exceptions_available_needs_range"
NEW_KEY, OLD_KEY = "homework_completion", "homework_completed"

exceptions = sa.table(
    "specialist_availability_exceptions",
    sa.column("id", sa.Uuid), sa.column("specialist_id", sa.Uuid), sa.column("exception_date", sa.Date),
    sa.column("is_available", sa.Boolean), sa.column("all_day", sa.Boolean), sa.column("reason", sa.String),
)
audit_logs = sa.table(
    "audit_logs",
    sa.column("id", sa.Uuid), sa.column("actor_id", sa.Uuid), sa.column("action", sa.String),
    sa.column("entity_type", sa.String), sa.column("entity_id", sa.String), sa.column("old_values", JSON),
    sa.column("new_values", JSON), sa.column("status", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
)


def _remove_all_day_available_only(connection) -> None:
    shape = sa.and_(exceptions.c.is_available.is_(True), exceptions.c.all_day.is_(True))
    rows = connection.execute(sa.select(exceptions).where(shape)).all()
    now = datetime.now(UTC)
    for row in rows:
        connection.execute(sa.insert(audit_logs).values(
            id=uuid.uuid4(), actor_id=None, action="availability_exception_removed",
            entity_type="availability_exception", entity_id=str(row.id),
            old_values={"specialist_id": str(row.specialist_id), "exception_date": row.exception_date.isoformat(),
                        "is_available": True, "all_day": True},
            new_values={"why": "an all-day 'available only' exception opened all 24 hours (migration 0016)"},
            status="success", created_at=now))
    if rows:
        connection.execute(sa.delete(exceptions).where(shape))


def _rename_key(connection, old: str, new: str) -> None:
    """One UPDATE over the notes that carry `old`; a note that already has `new` keeps its value."""
    if connection.dialect.name == "postgresql":
        statement = """UPDATE session_notes
            SET metadata = CASE WHEN metadata ? CAST(:new AS text) THEN metadata - CAST(:old AS text)
                                ELSE (metadata - CAST(:old AS text))
                                     || jsonb_build_object(CAST(:new AS text), metadata -> CAST(:old AS text)) END
            WHERE jsonb_typeof(metadata) = 'object' AND metadata ? CAST(:old AS text)"""
    else:  # SQLite's JSON1: json_insert leaves an existing key alone; json() keeps true a JSON true
        statement = """UPDATE session_notes
            SET metadata = json_insert(json_remove(metadata, '$.' || :old), '$.' || :new, json(metadata -> :old))
            WHERE json_type(metadata) = 'object' AND json_type(metadata, '$.' || :old) IS NOT NULL"""
    connection.execute(sa.text(statement), {"old": old, "new": new})


def upgrade():
    connection = op.get_bind()
    _remove_all_day_available_only(connection)
    with op.batch_alter_table("specialist_availability_exceptions", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f(CHECK_NAME), "NOT (is_available AND all_day)")
    _rename_key(connection, OLD_KEY, NEW_KEY)


def downgrade():
    connection = op.get_bind()
    _rename_key(connection, NEW_KEY, OLD_KEY)
    with op.batch_alter_table("specialist_availability_exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK_NAME), type_="check")
