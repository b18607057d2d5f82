"""Booking overlap guards in the database itself.

Two patients booking the same slot at the same moment must not both succeed,
so the check cannot be a read followed by an insert. PostgreSQL enforces it
with exclusion constraints over the active bookings' time ranges (per
specialist and per patient); SQLite, which serialises writers, with triggers.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "('pending', 'confirmed')"

SQLITE_OVERLAP = f"""
    NEW.status IN {ACTIVE} AND EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.id != NEW.id AND other.status IN {ACTIVE}
          AND (other.specialist_id = NEW.specialist_id OR other.patient_id = NEW.patient_id)
          AND other.starts_at < NEW.ends_at AND NEW.starts_at < other.ends_at)
"""


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in ("specialist_id", "patient_id"):
            op.execute(
                f"ALTER TABLE bookings ADD CONSTRAINT ex_bookings_{column}_overlap "
                f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                f"WHERE (status IN {ACTIVE})"
            )
    else:
        op.execute(
            f"CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
            f"WHEN {SQLITE_OVERLAP} BEGIN SELECT RAISE(ABORT, 'booking_overlap'); END"
        )
        op.execute(
            f"CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE OF status, starts_at, ends_at, "
            f"specialist_id, patient_id ON bookings "
            f"WHEN {SQLITE_OVERLAP} BEGIN SELECT RAISE(ABORT, 'booking_overlap'); END"
        )


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        for column in ("specialist_id", "patient_id"):
            op.execute(f"ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_{column}_overlap")
    else:
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")
