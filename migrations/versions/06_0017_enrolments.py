"""Package enrolments: patients take packages, bookings draw their credits; late cancellations.

- package_enrolments: a patient's take of a package, its terms copied, its credits counted;
- bookings.package_enrolment_id: the enrolment whose credit paid for the booking;
- booking_cancellations.is_late: cancelled inside the specialist's notice window;
- specialist_profiles.late_cancel_notice_hours: that window (default 24, 0 = none).

On SQLite batch mode copies the bookings table to add a foreign key, which drops
the overlap triggers of 0002: both directions read them first and put them back.

Revision ID: 0017_enrolments
Revises: 0012_standing_series
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_enrolments"
down_revision = "0012_standing_series"
branch_labels = None
depends_on = None


def _false():
    return sa.false() if op.get_context().dialect.name == "postgresql" else "0"


def upgrade():
    op.create_table(
        "package_enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("package_id", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=False),
        sa.Column("package_name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("credits_total", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("discount_percentage", sa.Numeric(precision=5, scale=2), server_default="0", nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.Column("payment_reference", sa.String(length=120), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("expiry_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending_payment', 'active', 'expired', 'cancelled')",
                           name=op.f("ck_package_enrolments_status")),
        sa.CheckConstraint("credits_total >= 1", name=op.f("ck_package_enrolments_credits_total")),
        sa.CheckConstraint("credits_used BETWEEN 0 AND credits_total",
                           name=op.f("ck_package_enrolments_credits_used")),
        sa.ForeignKeyConstraint(["package_id"], ["booking_packages.id"], ondelete="SET NULL",
                                name=op.f("fk_package_enrolments_package_id_booking_packages")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_package_enrolments_patient_id_users")),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialist_profiles.id"], ondelete="CASCADE",
                                name=op.f("fk_package_enrolments_specialist_id_specialist_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_enrolments")),
    )
    with op.batch_alter_table("package_enrolments") as batch_op:
        batch_op.create_index(batch_op.f("ix_package_enrolments_package_id"), ["package_id"])
        batch_op.create_index(batch_op.f("ix_package_enrolments_specialist_id"), ["specialist_id"])
        batch_op.create_index("ix_package_enrolments_patient", ["patient_id", "specialist_id", "status"])
        batch_op.create_index("ix_package_enrolments_expiry", ["status", "expires_on"])

    triggers = _sqlite_triggers("bookings")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(sa.Column(
            "package_enrolment_id", sa.Uuid(),
            sa.ForeignKey("package_enrolments.id", ondelete="SET NULL",
                          name=op.f("fk_bookings_package_enrolment_id_package_enrolments")),
            nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_package_enrolment_id"), ["package_enrolment_id"])
    for sql in triggers:  # SQLite copied the table, which drops its triggers
        op.execute(sql)
    with op.batch_alter_table("booking_cancellations") as batch_op:
        batch_op.add_column(sa.Column("is_late", sa.Boolean(), server_default=_false(), nullable=False))
    with op.batch_alter_table("specialist_profiles") as batch_op:
        batch_op.add_column(sa.Column("late_cancel_notice_hours", sa.Integer(), server_default="24",
                                      nullable=False))
        batch_op.create_check_constraint(op.f("ck_specialist_profiles_late_cancel_notice"), "late_cancel_notice_hours BETWEEN 0 AND 720")


def _sqlite_triggers(table: str) -> list[str]:
    if op.get_context().dialect.name != "sqlite":
        return []
    rows = op.get_bind().execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})
    return [row[0] for row in rows]


def downgrade():
    with op.batch_alter_table("specialist_profiles") as batch_op:
        batch_op.drop_constraint(op.f("ck_specialist_profiles_late_cancel_notice"), type_="check")
        batch_op.drop_column("late_cancel_notice_hours")
    triggers = _sqlite_triggers("booking_cancellations")
    with op.batch_alter_table("booking_cancellations") as batch_op:
        batch_op.drop_column("is_late")
    for sql in triggers:
        op.execute(sql)
    triggers = _sqlite_triggers("bookings")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_package_enrolment_id"))
        batch_op.drop_constraint(op.f("fk_bookings_package_enrolment_id_package_enrolments"), type_="foreignkey")
        batch_op.drop_column("package_enrolment_id")
    for sql in triggers:
        op.execute(sql)
    op.drop_table("package_enrolments")
