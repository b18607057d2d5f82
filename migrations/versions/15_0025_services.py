"""Services: what a specialist offers, each with its own length and price history.

- services: name, description, is_active, is_default (one default per specialist);
- specialist_rates.service_id: the rate rows become the services' price and length history;
- bookings.service_id and recurring_bookings.service_id: the service booked;
- booking_package_services: the services a package pays for (none named: all of them);
- specialist_profiles: buffer_before_minutes, buffer_after_minutes, slot_interval_minutes.

Data: each specialist with a rate history gets one default service, "Session", whose
history is that rate history; their bookings and series name it. No booking's price or
times change, and existing packages name no service, so they keep paying for every one.

On SQLite batch mode copies the tables it changes (foreign key checks wait for the
commit meanwhile); copying the bookings table, which drops the overlap triggers of
0002, so both directions read them first and put them back.

Revision ID: 0025_services
Revises: 0024_front_desk
"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0025_services"
down_revision = "0024_front_desk"
branch_labels = None
depends_on = None

PROFILE_CHECKS = (
    ("buffer_before", "buffer_before_minutes BETWEEN 0 AND 120"),
    ("buffer_after", "buffer_after_minutes BETWEEN 0 AND 120"),
    ("slot_interval", "slot_interval_minutes BETWEEN 5 AND 240"),
)


def _true():
    return sa.text("true") if op.get_context().dialect.name == "postgresql" else sa.text("1")


def _false():
    return sa.text("false") if op.get_context().dialect.name == "postgresql" else sa.text("0")


def _sqlite_triggers(table: str) -> list[str]:
    if op.get_context().dialect.name != "sqlite":
        return []
    rows = op.get_bind().execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})
    return [row[0] for row in rows]


def _create_tables():
    op.create_table(
        "services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=_true(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=_false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("NOT (is_default AND NOT is_active)", name=op.f("ck_services_default_active")),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialist_profiles.id"], ondelete="CASCADE",
                                name=op.f("fk_services_specialist_id_specialist_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_index(op.f("ix_services_specialist_id"), "services", ["specialist_id"])
    op.create_index("uq_services_default", "services", ["specialist_id"], unique=True,
                    sqlite_where=sa.text("is_default"), postgresql_where=sa.text("is_default"))
    op.create_table(
        "booking_package_services",
        sa.Column("package_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["booking_packages.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_package_services_package_id_booking_packages")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_package_services_service_id_services")),
        sa.PrimaryKeyConstraint("package_id", "service_id", name=op.f("pk_booking_package_services")),
    )
    op.create_index(op.f("ix_booking_package_services_service_id"), "booking_package_services", ["service_id"])


def _default_services():
    """One default "Session" per specialist with a rate history."""
    bind = op.get_bind()
    services = sa.table("services", sa.column("id", sa.Uuid()), sa.column("specialist_id", sa.Uuid()),
                        sa.column("name", sa.String()), sa.column("description", sa.Text()),
                        sa.column("is_active", sa.Boolean()), sa.column("is_default", sa.Boolean()),
                        sa.column("created_at", sa.DateTime(timezone=True)),
                        sa.column("updated_at", sa.DateTime(timezone=True)))
    rates = sa.table("specialist_rates", sa.column("specialist_id", sa.Uuid()))
    specialists = bind.execute(sa.select(rates.c.specialist_id).distinct()).scalars().all()
    now = datetime.now(UTC)
    if op.get_context().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    if specialists:
        bind.execute(services.insert(), [
            {"id": uuid.uuid4(), "specialist_id": specialist_id, "name": "Session", "description": "",
             "is_active": True, "is_default": True, "created_at": now, "updated_at": now}
            for specialist_id in specialists])


_FILL = ("UPDATE {table} SET service_id = (SELECT services.id FROM services "
         "WHERE services.specialist_id = {table}.specialist_id AND services.is_default)")
SERVICE_COLUMNS = (("specialist_rates", "CASCADE"), ("bookings", "SET NULL"), ("recurring_bookings", "SET NULL"))
SERVICE_INDEXES = (("ix_specialist_rates_service", "specialist_rates", ["service_id", "effective_from", "created_at"]),
                   ("ix_bookings_service_id", "bookings", ["service_id"]),
                   ("ix_recurring_bookings_service_id", "recurring_bookings", ["service_id"]))
PROFILE_COLUMNS = (("buffer_before_minutes", "0"), ("buffer_after_minutes", "0"), ("slot_interval_minutes", None))


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _add_columns():
    """SQLite adds each column in place (ALTER TABLE ... ADD COLUMN with its constraint): copying
    these tables, which other rows reference, would trip those rows' foreign keys."""
    for table, ondelete in SERVICE_COLUMNS:
        fk = op.f(f"fk_{table}_service_id_services")
        if _sqlite():
            op.execute(f"ALTER TABLE {table} ADD COLUMN service_id CHAR(32) CONSTRAINT {fk} "
                       f"REFERENCES services (id) ON DELETE {ondelete}")
        else:
            op.add_column(table, sa.Column("service_id", sa.Uuid(), nullable=True))
            op.create_foreign_key(fk, table, "services", ["service_id"], ["id"], ondelete=ondelete)
    for (name, default), (check, condition) in zip(PROFILE_COLUMNS, PROFILE_CHECKS, strict=True):
        ck = op.f(f"ck_specialist_profiles_{check}")
        if _sqlite():
            column = f"{name} INTEGER NOT NULL DEFAULT {default}" if default else f"{name} INTEGER"
            op.execute(f"ALTER TABLE specialist_profiles ADD COLUMN {column} CONSTRAINT {ck} CHECK ({condition})")
        else:
            op.add_column("specialist_profiles", sa.Column(name, sa.Integer(), server_default=default,
                                                           nullable=default is None))
            op.create_check_constraint(ck, "specialist_profiles", condition)


def upgrade():
    _create_tables()
    _default_services()
    _add_columns()
    for table, _ in SERVICE_COLUMNS:
        op.execute(_FILL.format(table=table))
    for name, table, columns in SERVICE_INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _ in SERVICE_INDEXES:
        op.drop_index(name, table_name=table)
    for table, _ in SERVICE_COLUMNS:
        triggers = _sqlite_triggers(table)
        with op.batch_alter_table(table) as batch_op:  # SQLite drops no column a foreign key names
            if not _sqlite():  # there the key has no name; copying the table without the column drops it
                batch_op.drop_constraint(op.f(f"fk_{table}_service_id_services"), type_="foreignkey")
            batch_op.drop_column("service_id")
        for sql in triggers:
            op.execute(sql)
    for (name, _), (check, _) in zip(reversed(PROFILE_COLUMNS), reversed(PROFILE_CHECKS), strict=True):
        if not _sqlite():  # SQLite drops a column's own CHECK with it
            op.drop_constraint(op.f(f"ck_specialist_profiles_{check}"), "specialist_profiles", type_="check")
        op.drop_column("specialist_profiles", name)
    op.drop_index(op.f("ix_booking_package_services_service_id"), table_name="booking_package_services")
    op.drop_table("booking_package_services")
    op.drop_index("uq_services_default", table_name="services")
    op.drop_index(op.f("ix_services_specialist_id"), table_name="services")
    op.drop_table("services")
