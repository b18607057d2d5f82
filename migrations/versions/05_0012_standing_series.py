"""Standing series: a series occurrence is unique among the ACTIVE bookings only.

A paused series cancels its booked future occurrences; resuming books them
again, which the old unique constraint over every booking refused. The
guarantee the dispatcher relies on (never two live bookings for one
occurrence) stays, as a partial unique index.

On SQLite the constraint lives in the table definition, so batch mode copies
the table; the copy loses migration 0002's overlap triggers, which are made
again here.

Revision ID: 0012_standing_series
Revises: 0021_booking_rules
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_standing_series"
down_revision = "0021_booking_rules"
branch_labels = None
depends_on = None

ACTIVE = "('pending', 'confirmed')"
WHERE = sa.text(f"status IN {ACTIVE}")

SQLITE_OVERLAP = f"""
    NEW.status IN {ACTIVE} AND EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.id != NEW.id AND other.status IN {ACTIVE}
          AND (other.specialist_id = NEW.specialist_id OR other.patient_id = NEW.patient_id)
          AND other.starts_at < NEW.ends_at AND NEW.starts_at < other.ends_at)
"""


def _sqlite_triggers():
    op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")
    op.execute(
        f"CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
        f"WHEN {SQLITE_OVERLAP} BEGIN SELECT RAISE(ABORT, 'booking_overlap'); END"
    )
    op.execute(
        f"CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE OF status, starts_at, ends_at, "
        f"specialist_id, patient_id ON bookings "
        f"WHEN {SQLITE_OVERLAP} BEGIN SELECT RAISE(ABORT, 'booking_overlap'); END"
    )


def upgrade():
    sqlite = op.get_context().dialect.name == "sqlite"
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("uq_bookings_occurrence", type_="unique")
    op.create_index("uq_bookings_occurrence", "bookings", ["recurring_booking_id", "occurrence_date"],
                    unique=True, sqlite_where=WHERE, postgresql_where=WHERE)
    if sqlite:
        _sqlite_triggers()


def downgrade():
    sqlite = op.get_context().dialect.name == "sqlite"
    op.drop_index("uq_bookings_occurrence", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.create_unique_constraint("uq_bookings_occurrence", ["recurring_booking_id", "occurrence_date"])
    if sqlite:
        _sqlite_triggers()
