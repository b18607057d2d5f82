"""Row-level security on PostgreSQL: the database refuses what portal.policies refuses.

- the role requests switch to (DATABASE_APP_ROLE, default portal_app), made when missing
  (NOLOGIN: it is only ever switched to), with what it needs on every table, sequence and
  function, and granted to the migrating role (the schema's owner) so it may switch to it;
- portal_user_id() / portal_role(): the acting user the transaction set;
- each listed table's policies, from portal.models.row_policies;
- the SECURITY DEFINER readers the rules need across people (busy times, date exceptions),
  the outbox's writer, and the overlap guard's functions made definers too.

SQLite has no row-level security: there the migration does nothing.

Revision ID: 0029_row_level_security
Revises: 0027_private_notes
"""
import os

from alembic import op

from portal.models.row_policies import (
    HELPER_NAMES,
    HELPERS,
    READER_NAMES,
    READERS,
    drop_statements,
    table_statements,
)

revision = "0029_row_level_security"
down_revision = "0027_private_notes"
branch_labels = None
depends_on = None

# The tables that hold a person's data as of this revision; a later table's migration applies
# its own entry of RULES.
TABLES = ("bookings", "booking_status_history", "booking_cancellations", "booking_packages", "package_enrolments",
          "recurring_bookings", "session_notes", "session_note_amendments", "meeting_recordings",
          "specialist_availability_exceptions", "outbox", "audit_logs", "record_access_log", "erasure_requests",
          "intake_forms", "intake_responses", "consent_terms", "consents")

# The overlap guard (0020) must see every booking of the specialist and the patient, whoever
# writes: its functions run as their owner.
GUARDS = ("bookings_overlap_inserted()", "bookings_overlap_updated()", "bookings_overlap_lock(uuid[], uuid[])")


def _app_role() -> str:
    try:
        from flask import current_app

        role = current_app.config.get("DATABASE_APP_ROLE")
    except RuntimeError:  # outside the app (alembic alone)
        role = os.environ.get("DATABASE_APP_ROLE")
    return (role or "portal_app").strip() or "portal_app"


def _make_role(role: str) -> None:
    # Roles belong to the cluster: another database's migration may make it at the same moment.
    op.execute(f"""
        do $$ begin
          if not exists (select from pg_roles where rolname = '{role}') then
            create role {role} nologin;
          end if;
        exception when duplicate_object or unique_violation then null;
        end $$""")
    op.execute(f"grant {role} to current_user")
    op.execute(f"grant usage on schema public to {role}")
    op.execute(f"grant select, insert, update, delete on all tables in schema public to {role}")
    op.execute(f"grant usage, select on all sequences in schema public to {role}")
    op.execute(f"alter default privileges in schema public grant select, insert, update, delete on tables to {role}")
    op.execute(f"alter default privileges in schema public grant usage, select on sequences to {role}")


def upgrade():
    if op.get_context().dialect.name != "postgresql":
        return
    _make_role(_app_role())
    op.execute(HELPERS)
    op.execute(READERS)
    for guard in GUARDS:
        op.execute(f"alter function {guard} security definer set search_path = public, pg_temp")
    for table in TABLES:
        for statement in table_statements(table):
            op.execute(statement)


def downgrade():
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in drop_statements(table):
            op.execute(statement)
    for guard in GUARDS:
        op.execute(f"alter function {guard} security invoker reset search_path")
    for name in (*READER_NAMES, *HELPER_NAMES):
        op.execute(f"drop function if exists {name}")
