"""A patient's rights over their record: the access log (who read which note or recording, once
per reader, record and hour) and erasure requests (pending, carried out or refused; a carried-out
one also notes when the retention job deleted the clinical records it had kept).

Revision ID: 0026_patient_rights
Revises: 0023_account_mail_links_withheld
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_patient_rights"
down_revision = "0023_account_mail_links_withheld"
branch_labels = None
depends_on = None

ACCESS_RECORD_TYPES = ("session_note", "meeting_recording", "intake_response")
ERASURE_STATUSES = ("pending", "carried_out", "refused")


def upgrade():
    op.create_table(
        "record_access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=True),
        sa.Column("reader_role", sa.String(16), nullable=False),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accessed_hour", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"record_type IN {ACCESS_RECORD_TYPES!r}", name=op.f("ck_record_access_log_record_type")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_record_access_log_patient_id_users")),
        sa.ForeignKeyConstraint(["reader_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_record_access_log_reader_id_users")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="SET NULL",
                                name=op.f("fk_record_access_log_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_access_log")),
        sa.UniqueConstraint("reader_id", "record_type", "record_id", "accessed_hour", name="uq_record_access_hour"),
    )
    op.create_index("ix_record_access_log_patient", "record_access_log", ["patient_id", "accessed_at"])
    op.create_index("ix_record_access_log_record", "record_access_log", ["record_type", "record_id"])
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("records_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN {ERASURE_STATUSES!r}", name=op.f("ck_erasure_requests_status")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_erasure_requests_patient_id_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_erasure_requests_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index("ix_erasure_requests_patient_id", "erasure_requests", ["patient_id"])
    op.create_index("ix_erasure_requests_status", "erasure_requests", ["status", "requested_at"])
    op.create_index("ix_erasure_requests_one_pending", "erasure_requests", ["patient_id"], unique=True,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade():
    op.drop_table("erasure_requests")
    op.drop_table("record_access_log")
