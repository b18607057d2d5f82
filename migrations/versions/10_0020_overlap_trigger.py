"""Bookings' overlap guarantee on PostgreSQL: a statement-level trigger instead of two GiST exclusion constraints.

Every active booking row paid for two GiST exclusion constraints (about 4.6x the
cost of the bare insert). The guarantee now lives in AFTER INSERT and
AFTER UPDATE triggers, FOR EACH STATEMENT, over the statement's transition table:

1. the parties of the rows to check (active rows; on UPDATE only those that
   became active or moved) are locked: transaction-scoped advisory locks on
   hashed buckets, one namespace per party kind (specialist, patient), taken in
   key order in one statement (bookings_overlap_lock), held until commit;
2. then, in the next statement, so in a fresh snapshot (READ COMMITTED), the
   rows are checked against every active booking: EXISTS over the
   (party, starts_at) B-tree indexes, bounded by the longest session allowed.

Whoever writes second waits at step 1 until the first commits or rolls back,
then sees its rows at step 2: race-proof for every writer (pages, API,
dispatcher, data migrations), and a refusal is SQLSTATE 23P01
(exclusion_violation), as the constraints raised, so callers see the same
IntegrityError. Under REPEATABLE READ or SERIALIZABLE the snapshot would not
move after the wait, so a statement there that writes an active booking is
refused (SQLSTATE 0A000). A session may last at most MAX_SESSION (the check's
index range depends on it): a longer active row is refused (23514).

SQLite keeps migration 0002's triggers (it serialises writers).

Revision ID: 0020_overlap_trigger
Revises: 0016_people_see
"""
from alembic import op

revision = "0020_overlap_trigger"
down_revision = "0016_people_see"
branch_labels = None
depends_on = None

ACTIVE = "('pending', 'confirmed')"
MAX_SESSION = "interval '1 day'"
BUCKETS = 1024
SPECIALIST_LOCKS, PATIENT_LOCKS = 201, 202  # first key of pg_advisory_xact_lock(int, int)

LOCK_FUNCTION = f"""
CREATE FUNCTION bookings_overlap_lock(specialists uuid[], patients uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k.cls, k.bucket) FROM (
        SELECT {SPECIALIST_LOCKS} AS cls, uuid_hash(s) & {BUCKETS - 1} AS bucket FROM unnest(specialists) AS s
        UNION
        SELECT {PATIENT_LOCKS}, uuid_hash(p) & {BUCKETS - 1} FROM unnest(patients) AS p
        ORDER BY 1, 2) AS k;
END $$
"""

# The rows a statement asks to check, as a FROM item over the transition tables.
INSERTED = f"(SELECT * FROM new_rows WHERE status IN {ACTIVE})"
UPDATED = f"""(SELECT n.* FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
    WHERE n.status IN {ACTIVE} AND (o.status NOT IN {ACTIVE} OR o.starts_at <> n.starts_at
        OR o.ends_at <> n.ends_at OR o.specialist_id <> n.specialist_id OR o.patient_id <> n.patient_id))"""


def _clash(party: str, rows: str) -> str:
    return f"""EXISTS (SELECT 1 FROM {rows} AS n JOIN bookings AS b
            ON b.{party} = n.{party} AND b.id <> n.id AND b.status IN {ACTIVE}
           AND b.starts_at < n.ends_at AND b.ends_at > n.starts_at
           AND b.starts_at > n.starts_at - {MAX_SESSION})"""


def _trigger_function(name: str, rows: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    specialists uuid[];
    patients uuid[];
BEGIN
    SELECT array_agg(DISTINCT n.specialist_id), array_agg(DISTINCT n.patient_id) INTO specialists, patients
    FROM {rows} AS n;
    IF specialists IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'active bookings are written only under READ COMMITTED (their overlap check needs a fresh snapshot)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM bookings_overlap_lock(specialists, patients);
    IF EXISTS (SELECT 1 FROM {rows} AS n WHERE n.ends_at - n.starts_at > {MAX_SESSION}) THEN
        RAISE EXCEPTION 'a booking lasts at most %', {MAX_SESSION}
            USING ERRCODE = 'check_violation', CONSTRAINT = 'bookings_session_length';
    END IF;
    IF {_clash("specialist_id", rows)} THEN
        RAISE EXCEPTION 'the specialist already has an active booking at that time'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'bookings_specialist_overlap';
    END IF;
    IF {_clash("patient_id", rows)} THEN
        RAISE EXCEPTION 'the patient already has an active booking at that time'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'bookings_patient_overlap';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade():
    if op.get_context().dialect.name != "postgresql":
        return  # SQLite: migration 0002's triggers stay
    op.execute(f"""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM bookings WHERE status IN {ACTIVE} AND ends_at - starts_at > {MAX_SESSION}) THEN
            RAISE EXCEPTION 'an active booking lasts longer than %: shorten it first', {MAX_SESSION};
        END IF; END $$""")
    op.execute(LOCK_FUNCTION)
    op.execute(_trigger_function("bookings_overlap_inserted", INSERTED))
    op.execute(_trigger_function("bookings_overlap_updated", UPDATED))
    op.execute("CREATE TRIGGER bookings_no_overlap_insert AFTER INSERT ON bookings "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bookings_overlap_inserted()")
    op.execute("CREATE TRIGGER bookings_no_overlap_update AFTER UPDATE ON bookings "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION bookings_overlap_updated()")
    for column in ("specialist_id", "patient_id"):
        op.execute(f"ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_{column}_overlap")


def downgrade():
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert ON bookings")
    op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update ON bookings")
    op.execute("DROP FUNCTION IF EXISTS bookings_overlap_inserted()")
    op.execute("DROP FUNCTION IF EXISTS bookings_overlap_updated()")
    op.execute("DROP FUNCTION IF EXISTS bookings_overlap_lock(uuid[], uuid[])")
    for column in ("specialist_id", "patient_id"):
        op.execute(
            f"ALTER TABLE bookings ADD CONSTRAINT ex_bookings_{column}_overlap "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE (status IN {ACTIVE})"
        )
