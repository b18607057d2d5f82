"""The front desk: moving a session, attendance, and who a staff cancellation was for.

- bookings.status may be 'no_show' (a session the patient missed);
- bookings.ics_sequence: the calendar invitation's SEQUENCE, raised by every move, so that
  calendars move the event (same UID) instead of adding one;
- booking_status_history.from_starts_at / to_starts_at / reason: a move's from and to
  times, and the optional reason given for it (read by the parties and staff only);
- booking_cancellations.cancelled_for: an admin's cancellation "on the patient's behalf"
  ('patient': the patient's rules apply) or "by the clinic" ('clinic'); NULL when a party
  cancelled themself.

On SQLite batch mode copies the bookings table to change its CHECK constraint, which drops
the overlap triggers and the partial unique index on series occurrences: both are read
first and put back. A downgrade records a no-show as completed (the older schema has no
other word for it).

Revision ID: 0024_front_desk
Revises: 0026_patient_rights
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_front_desk"
down_revision = "0026_patient_rights"
branch_labels = None
depends_on = None

STATUSES = "('pending', 'confirmed', 'cancelled', 'completed', 'no_show')"
OLD_STATUSES = "('pending', 'confirmed', 'cancelled', 'completed')"
ACTIVE = sa.text("status IN ('pending', 'confirmed')")
CANCELLED_FOR = "cancelled_for IS NULL OR cancelled_for IN ('patient', 'clinic')"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _sqlite_triggers(table: str) -> list[str]:
    if not _sqlite():
        return []
    rows = op.get_bind().execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})
    return [row[0] for row in rows]


def _bookings_status(statuses: str, *, add_sequence: bool | None) -> None:
    triggers = _sqlite_triggers("bookings")
    if _sqlite():
        op.drop_index("uq_bookings_occurrence", table_name="bookings")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_bookings_status"), f"status IN {statuses}")
        if add_sequence:
            batch_op.add_column(sa.Column("ics_sequence", sa.Integer(), server_default="0", nullable=False))
        elif add_sequence is False:
            batch_op.drop_column("ics_sequence")
    if _sqlite():
        op.create_index("uq_bookings_occurrence", "bookings", ["recurring_booking_id", "occurrence_date"],
                        unique=True, sqlite_where=ACTIVE)
    for sql in triggers:  # SQLite copied the table, which drops its triggers
        op.execute(sql)


def upgrade():
    _bookings_status(STATUSES, add_sequence=True)
    with op.batch_alter_table("booking_status_history") as batch_op:
        batch_op.add_column(sa.Column("from_starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("to_starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    triggers = _sqlite_triggers("booking_cancellations")
    with op.batch_alter_table("booking_cancellations") as batch_op:
        batch_op.add_column(sa.Column("cancelled_for", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f("ck_booking_cancellations_cancelled_for"), CANCELLED_FOR)
    for sql in triggers:
        op.execute(sql)


def downgrade():
    triggers = _sqlite_triggers("booking_cancellations")
    with op.batch_alter_table("booking_cancellations") as batch_op:
        batch_op.drop_constraint(op.f("ck_booking_cancellations_cancelled_for"), type_="check")
        batch_op.drop_column("cancelled_for")
    for sql in triggers:
        op.execute(sql)
    with op.batch_alter_table("booking_status_history") as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("to_starts_at")
        batch_op.drop_column("from_starts_at")
    op.execute("UPDATE bookings SET status = 'completed' WHERE status = 'no_show'")
    _bookings_status(OLD_STATUSES, add_sequence=False)
