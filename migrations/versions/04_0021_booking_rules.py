"""Booking rules per specialist: upcoming limit per patient, minimum notice, booking window.

Columns on specialist_profiles with the defaults every existing specialist gets
(8 upcoming sessions per patient, 2 hours' notice, 365 days ahead).

Revision ID: 0021_booking_rules
Revises: 0018_recording_crypto
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_booking_rules"
down_revision = "0018_recording_crypto"
branch_labels = None
depends_on = None

COLUMNS = (("max_upcoming_per_patient", "8"), ("min_notice_hours", "2"), ("booking_window_days", "365"))
CHECKS = (
    ("max_upcoming", "max_upcoming_per_patient BETWEEN 1 AND 1000"),
    ("min_notice", "min_notice_hours BETWEEN 0 AND 8760"),
    ("booking_window", "booking_window_days BETWEEN 1 AND 3650"),
)


def upgrade():
    with op.batch_alter_table("specialist_profiles") as batch:
        for name, default in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=default))
        for name, condition in CHECKS:
            batch.create_check_constraint(name, condition)


def downgrade():
    with op.batch_alter_table("specialist_profiles") as batch:
        for name, _ in CHECKS:
            batch.drop_constraint(name, type_="check")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
