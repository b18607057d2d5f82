"""Meetings and intake: where a session happens, intake questionnaires, terms and consents.

- services: location_kind ('in_person' | 'video' | 'phone'), location_address, location_room_url;
- bookings.room_url: the session's own video room, for a video service without a fixed room;
- intake_forms: a specialist's one questionnaire (questions, JSON);
- intake_responses: a patient's answers to it (one row per patient and specialist);
- consent_terms: the clinic's terms, versioned;
- consents: a patient's agreement to a terms version, or to being recorded by one specialist.

Data: existing services are held in person (the default); no booking gets a room.

Revision ID: 0028_meeting_intake
Revises: 0025_services
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_meeting_intake"
down_revision = "0025_services"
branch_labels = None
depends_on = None

LOCATION_CHECK = "location_kind IN ('in_person', 'video', 'phone')"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _json():
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _create_tables():
    op.create_table(
        "intake_forms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=False),
        sa.Column("questions", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialist_profiles.id"], ondelete="CASCADE",
                                name=op.f("fk_intake_forms_specialist_id_specialist_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_forms")),
        sa.UniqueConstraint("specialist_id", name=op.f("uq_intake_forms_specialist_id")),
    )
    op.create_table(
        "intake_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=False),
        sa.Column("answers", _json(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_intake_responses_patient_id_users")),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialist_profiles.id"], ondelete="CASCADE",
                                name=op.f("fk_intake_responses_specialist_id_specialist_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_responses")),
        sa.UniqueConstraint("patient_id", "specialist_id", name="uq_intake_responses_patient_specialist"),
    )
    op.create_index(op.f("ix_intake_responses_patient_id"), "intake_responses", ["patient_id"])
    op.create_index(op.f("ix_intake_responses_specialist_id"), "intake_responses", ["specialist_id"])
    op.create_table(
        "consent_terms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_consent_terms_version")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_consent_terms_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_terms")),
        sa.UniqueConstraint("version", name=op.f("uq_consent_terms_version")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=True),
        sa.Column("terms_version", sa.Integer(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('terms', 'recording')", name=op.f("ck_consents_kind")),
        sa.CheckConstraint("kind <> 'recording' OR specialist_id IS NOT NULL",
                           name=op.f("ck_consents_recording_specialist")),
        sa.CheckConstraint("kind <> 'terms' OR terms_version IS NOT NULL", name=op.f("ck_consents_terms_version")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_consents_patient_id_users")),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialist_profiles.id"], ondelete="CASCADE",
                                name=op.f("fk_consents_specialist_id_specialist_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_patient_id"), "consents", ["patient_id"])
    op.create_index(op.f("ix_consents_specialist_id"), "consents", ["specialist_id"])


def _add_columns():
    """SQLite adds each column in place (ALTER TABLE ... ADD COLUMN): copying bookings or
    services, which other rows reference, would trip those rows' foreign keys."""
    ck = op.f("ck_services_location_kind")
    if _sqlite():
        op.execute(f"ALTER TABLE services ADD COLUMN location_kind VARCHAR(16) NOT NULL DEFAULT 'in_person' "
                   f"CONSTRAINT {ck} CHECK ({LOCATION_CHECK})")
    else:
        op.add_column("services", sa.Column("location_kind", sa.String(length=16), server_default="in_person",
                                            nullable=False))
        op.create_check_constraint(ck, "services", LOCATION_CHECK)
    op.add_column("services", sa.Column("location_address", sa.String(length=300), nullable=True))
    op.add_column("services", sa.Column("location_room_url", sa.String(length=500), nullable=True))
    op.add_column("bookings", sa.Column("room_url", sa.String(length=500), nullable=True))


def upgrade():
    _create_tables()
    _add_columns()


def downgrade():
    op.drop_column("bookings", "room_url")  # in place on SQLite too: its overlap triggers stay
    op.drop_column("services", "location_room_url")
    op.drop_column("services", "location_address")
    if not _sqlite():  # SQLite drops a column's own CHECK with it
        op.drop_constraint(op.f("ck_services_location_kind"), "services", type_="check")
    op.drop_column("services", "location_kind")
    op.drop_index(op.f("ix_consents_specialist_id"), table_name="consents")
    op.drop_index(op.f("ix_consents_patient_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_table("consent_terms")
    op.drop_index(op.f("ix_intake_responses_specialist_id"), table_name="intake_responses")
    op.drop_index(op.f("ix_intake_responses_patient_id"), table_name="intake_responses")
    op.drop_table("intake_responses")
    op.drop_table("intake_forms")
