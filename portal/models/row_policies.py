"""The PostgreSQL row-level security policies, one entry per table: the migrations build them
from here (portal.models.row_security says whose transaction it is).

`read` is portal.policies.visible() for that table, in SQL, for every role (tests/
test_row_security.py proves them equal). The write rules are the database's own: they name
every write that crosses people (who writes a row about someone else, and why). A subquery on
another table here is itself under that table's policy: "booking_id in (select id from
bookings)" is "a booking this user may see".

A table added later: an entry below, and `op.execute` of `table_statements(name)` in its
migration."""
from __future__ import annotations

from dataclasses import dataclass

ME = "portal_user_id()"
ADMIN = "portal_role() = 'admin'"
STAFF = "portal_role() in ('admin', 'ops')"
SIGNED_IN = f"{ME} is not null"
SPECIALIST = "portal_role() = 'specialist'"
PATIENT = "portal_role() = 'patient'"
NOBODY = "false"
ANYONE = "true"


def _party(column: str = "booking_id") -> str:
    return f"{column} in (select id from bookings)"


def _own_specialist(column: str = "specialist_id") -> str:
    return f"{ADMIN} or ({SPECIALIST} and {column} = {ME})"


@dataclass(frozen=True)
class Rules:
    read: str
    insert: str = NOBODY
    update: str = NOBODY
    delete: str = NOBODY


RULES: dict[str, Rules] = {
    "bookings": Rules(
        read=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        # A patient books themselves; a specialist books a client in on their own calendar; an
        # admin books anyone with anyone (book-for-client).
        insert=f"{ADMIN} or ({PATIENT} and patient_id = {ME}) or ({SPECIALIST} and specialist_id = {ME})",
        # Cancel, move, attendance, a package's session: either party or an admin.
        update=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        delete=ADMIN,  # erasure
    ),
    # Whoever changes a booking's status (either party, an admin) writes its history and its
    # cancellation row, whoever the other party is.
    "booking_status_history": Rules(read=f"{ADMIN} or {_party()}", insert=f"{ADMIN} or {_party()}",
                                    delete=ADMIN),
    "booking_cancellations": Rules(read=f"{ADMIN} or {_party()}",
                                   insert=f"{ADMIN} or ({_party()} and cancelled_by = {ME})", delete=ADMIN),
    "booking_packages": Rules(
        read=f"{ADMIN} or is_active or specialist_id = {ME}",
        insert=_own_specialist(), update=_own_specialist(), delete=_own_specialist(),
    ),
    "package_enrolments": Rules(
        read=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        # A patient enrols themselves; an admin or specialist booking a client in spends the
        # client's enrolment with them.
        insert=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        update=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        delete=ADMIN,
    ),
    "recurring_bookings": Rules(
        read=f"{ADMIN} or user_id = {ME} or specialist_id = {ME}",
        # The patient's own series; a specialist keeps a series on their calendar (pausing it
        # for a day away); an admin any.
        insert=f"{ADMIN} or ({PATIENT} and user_id = {ME}) or ({SPECIALIST} and specialist_id = {ME})",
        update=f"{ADMIN} or user_id = {ME} or specialist_id = {ME}",
        delete=f"{ADMIN} or user_id = {ME}",
    ),
    "session_notes": Rules(
        read=f"{ADMIN} or provider_id = {ME} or booking_id in (select id from bookings where patient_id = {ME})",
        insert=(f"{SPECIALIST} and provider_id = {ME} "
                f"and booking_id in (select id from bookings where specialist_id = {ME})"),
        update=f"{ADMIN} or ({SPECIALIST} and provider_id = {ME})",
        delete=ADMIN,
    ),
    "session_note_amendments": Rules(
        read="note_id in (select id from session_notes)",
        insert=f"author_id = {ME} and note_id in (select id from session_notes where provider_id = {ME})",
        delete=ADMIN,
    ),
    "meeting_recordings": Rules(read=f"{ADMIN} or {_party()}", insert=ADMIN, update=ADMIN, delete=ADMIN),
    "specialist_availability_exceptions": Rules(
        read=SIGNED_IN, insert=_own_specialist(), update=_own_specialist(), delete=_own_specialist(),
    ),
    # Any request may owe anyone a message (a patient's booking tells the specialist; a sign-up
    # or a password reset is written signed out): the rows are written, never read, outside
    # the mailbox, where staff read them and retry them. The portal writes them through
    # portal_outbox_write, whose ON CONFLICT must read the dedup key.
    "outbox": Rules(read=STAFF, insert=ANYONE, update=STAFF, delete=ADMIN),
    # The trail: admins read it all, ops the system's own rows. Every request writes what it did
    # or was refused, whoever it names: a stranger's failed attempt, a link's owner confirming
    # their address while signed out. An admin carrying out an erasure scrubs the patient from it.
    "audit_logs": Rules(read=f"{ADMIN} or (portal_role() = 'ops' and actor_id is null)", insert=ANYONE,
                        update=ADMIN, delete=ADMIN),
    # Reading a patient's records writes the patient's row: by the reader, naming themselves
    # (through portal_record_access_write, which holds that rule too: its ON CONFLICT reads).
    "record_access_log": Rules(read=f"{ADMIN} or patient_id = {ME}", insert=f"reader_id = {ME}", delete=ADMIN),
    "erasure_requests": Rules(
        read=f"{ADMIN} or patient_id = {ME}",
        insert=f"{PATIENT} and patient_id = {ME}", update=ADMIN, delete=ADMIN,
    ),
    # A questionnaire: read by anyone signed in (a patient fills it in), its specialist's to change.
    "intake_forms": Rules(read=SIGNED_IN, insert=_own_specialist(), update=_own_specialist(),
                          delete=_own_specialist()),
    # Intake answers are health data: the patient writes them for that specialist, who reads them.
    "intake_responses": Rules(
        read=f"{ADMIN} or patient_id = {ME} or specialist_id = {ME}",
        insert=f"{PATIENT} and patient_id = {ME}", update=f"{PATIENT} and patient_id = {ME}",
        delete=ADMIN,  # erasure
    ),
    "consent_terms": Rules(read=ANYONE, insert=ADMIN),
    # The patient gives and withdraws a consent; a recording consent is also its specialist's to read,
    # who must know whether they may record.
    "consents": Rules(
        read=f"{ADMIN} or patient_id = {ME} or (kind = 'recording' and specialist_id = {ME})",
        insert=f"{PATIENT} and patient_id = {ME}", update=f"{PATIENT} and patient_id = {ME}",
        delete=ADMIN,  # erasure
    ),
}

HELPERS = """
create or replace function portal_user_id() returns uuid language sql stable as
$$ select nullif(current_setting('portal.user_id', true), '')::uuid $$;
create or replace function portal_role() returns text language sql stable as
$$ select nullif(current_setting('portal.role', true), '') $$;
"""


def table_statements(table: str, owner: str = "current_user") -> list[str]:
    """Enable and force row-level security on `table`, with its policies: RULES[table] for
    everyone, and every row for `owner` (the schema's owner: jobs, commands, migrations)."""
    rules = RULES[table]
    statements = [f"alter table {table} enable row level security",
                  f"alter table {table} force row level security",
                  f"drop policy if exists {table}_owner on {table}",
                  f"create policy {table}_owner on {table} to {owner} using (true) with check (true)"]
    for command, using, check in (("select", rules.read, None), ("insert", None, rules.insert),
                                  ("update", rules.update, rules.update), ("delete", rules.delete, None)):
        name = f"{table}_{command}"
        statements.append(f"drop policy if exists {name} on {table}")
        statements.append(
            f"create policy {name} on {table} for {command} to public"
            + (f" using ({using})" if using is not None else "")
            + (f" with check ({check})" if check is not None else "")
        )
    return statements


def drop_statements(table: str) -> list[str]:
    return [*(f"drop policy if exists {table}_{name} on {table}"
              for name in ("owner", "select", "insert", "update", "delete")),
            f"alter table {table} no force row level security",
            f"alter table {table} disable row level security"]


# What the rules must read across people, and nothing more: times, never whose they are.
# SECURITY DEFINER runs them as their owner (the schema's), whose policy sees every row.
READERS = """
create or replace function portal_busy_between(p_specialist uuid, p_start timestamptz, p_end timestamptz,
                                               p_gap interval, p_patient uuid, p_moving uuid)
returns table (starts_at timestamptz, ends_at timestamptz, own boolean)
language sql stable security definer set search_path = public, pg_temp as $$
  select b.starts_at, b.ends_at, b.specialist_id = p_specialist
  from bookings b
  where (b.specialist_id = p_specialist
         or (p_patient is not null and b.patient_id = p_patient
             and (p_patient = portal_user_id() or portal_role() in ('admin', 'ops', 'specialist'))))
    and b.status in ('pending', 'confirmed')
    and b.starts_at < p_end + p_gap and b.ends_at > p_start - p_gap
    and (p_moving is null or b.id <> p_moving)
$$;
create or replace function portal_booking_clash(p_specialist uuid, p_patient uuid, p_start timestamptz,
                                                p_end timestamptz, p_longest interval, p_moving uuid)
returns table (specialist_id uuid, patient_id uuid)
language sql stable security definer set search_path = public, pg_temp as $$
  select case when b.specialist_id = p_specialist then p_specialist end,
         case when b.patient_id = p_patient then p_patient end
  from bookings b
  where b.status in ('pending', 'confirmed') and (p_moving is null or b.id <> p_moving)
    and (b.specialist_id = p_specialist
         or (b.patient_id = p_patient
             and (p_patient = portal_user_id() or portal_role() in ('admin', 'ops', 'specialist'))))
    and b.starts_at < p_end and b.starts_at > p_start - p_longest and b.ends_at > p_start
  limit 1
$$;
create or replace function portal_booking_exists(p_booking uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
  select exists (select from bookings where id = p_booking)
$$;
create or replace function portal_exceptions_of(p_specialists uuid[], p_first date, p_last date)
returns table (specialist_id uuid, exception_date date, is_available boolean, all_day boolean,
               start_time time, end_time time)
language sql stable security definer set search_path = public, pg_temp as $$
  select e.specialist_id, e.exception_date, e.is_available, e.all_day, e.start_time, e.end_time
  from specialist_availability_exceptions e
  where e.specialist_id = any(p_specialists) and e.exception_date between p_first and p_last
$$;
create or replace function portal_outbox_write(p_rows json) returns setof uuid
language sql volatile security definer set search_path = public, pg_temp as $$
  insert into outbox (id, recipient_id, template, about, dedup_key, status, tries, next_attempt_at, created_at)
  select r.id, r.recipient_id, r.template, r.about, r.dedup_key, r.status, r.tries, r.next_attempt_at, r.created_at
  from json_to_recordset(p_rows) as r(id uuid, recipient_id uuid, template text, about jsonb, dedup_key text,
                                       status text, tries integer, next_attempt_at timestamptz,
                                       created_at timestamptz)
  on conflict (dedup_key) do nothing
  returning id
$$;
create or replace function portal_record_access_write(p_rows json) returns integer
language sql volatile security definer set search_path = public, pg_temp as $$
  with written as (
    insert into record_access_log (id, patient_id, reader_id, reader_role, record_type, record_id, booking_id,
                                   accessed_at, accessed_hour)
    select r.id, r.patient_id, r.reader_id, r.reader_role, r.record_type, r.record_id, r.booking_id,
           r.accessed_at, r.accessed_hour
    from json_to_recordset(p_rows) as r(id uuid, patient_id uuid, reader_id uuid, reader_role text,
                                         record_type text, record_id uuid, booking_id uuid,
                                         accessed_at timestamptz, accessed_hour timestamptz)
    where r.reader_id = portal_user_id()
    on conflict (reader_id, record_type, record_id, accessed_hour) do nothing
    returning 1)
  select count(*)::integer from written
$$;
"""
READER_NAMES = ("portal_busy_between(uuid, timestamptz, timestamptz, interval, uuid, uuid)",
                "portal_exceptions_of(uuid[], date, date)", "portal_booking_exists(uuid)",
                "portal_booking_clash(uuid, uuid, timestamptz, timestamptz, interval, uuid)",
                "portal_outbox_write(json)", "portal_record_access_write(json)")
HELPER_NAMES = ("portal_user_id()", "portal_role()")
