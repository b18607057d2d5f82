"""PostgreSQL's statements for a batch: bookings that leave clashes out, why they clashed, the series' advances."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking
from portal.models.bulk import pg_array, pg_type
from portal.selectors.public_cache import touch
from portal.services.recurring_dispatch.planning import (
    PATIENT_BUSY,
    SLOT_TAKEN,
    OtherBookings,
    Plan,
    last_generated_dates,
)

EXCLUSION_VIOLATION = "23P01"  # what the bookings' overlap trigger raises (migration 0020)
UNIQUE_VIOLATION = "23505"
OCCURRENCE_KEY = "uq_bookings_occurrence"  # one active booking per series occurrence

_BOOKING_COLUMNS = ("id", "patient_id", "specialist_id", "starts_at", "ends_at", "price", "currency",
                    "service_id", "recurring_booking_id", "occurrence_date")

# Only names and types from the model go into the text; every value is a bound array.
_ARRAYS = ", ".join(f"CAST(:{name} AS {pg_type(Booking.__table__.c[name])}[])" for name in _BOOKING_COLUMNS)
_INSERT_TEMPLATE = f"""
    WITH inserted AS (
        INSERT INTO bookings ({', '.join(_BOOKING_COLUMNS)}, status, created_at, updated_at)
        SELECT *, 'confirmed', CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM unnest({_ARRAYS})
        {{on_conflict}}
        RETURNING id, created_at
    ), history AS (
        INSERT INTO booking_status_history (id, booking_id, from_status, to_status, created_at)
        SELECT gen_random_uuid(), id, NULL, 'confirmed', created_at FROM inserted
    )
    SELECT count(*) FROM inserted
"""
# A batch's first try: every row goes in, or the statement fails (a clash, or an occurrence booked
# already) and the careful path below takes over. Only that path says ON CONFLICT: it makes every row
# a speculative insertion (one more index probe and WAL record each): runs were 2-9 % quicker without it.
_INSERT_BOOKINGS = sa.text(_INSERT_TEMPLATE.format(on_conflict=""))
_INSERT_BOOKINGS_UNLESS_BOOKED = sa.text(_INSERT_TEMPLATE.format(
    on_conflict=f"ON CONFLICT (recurring_booking_id, occurrence_date) WHERE status IN {tuple(ACTIVE_STATUSES)!r} "
                "DO NOTHING"))
_WHICH_WENT_IN = sa.text("SELECT id FROM bookings WHERE id = ANY(CAST(:ids AS uuid[]))")

# Bounded like the trigger's own check: no active booking lasts more than a day (migration 0020).
_WHY_REFUSED = sa.text("""
    SELECT c.n,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.recurring_booking_id = c.series AND b.occurrence_date = c.day
                     AND b.status IN :active) AS booked,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.specialist_id = c.specialist AND b.status IN :active
                     AND b.starts_at < c.e AND b.ends_at > c.s AND b.starts_at > c.s - interval '1 day') AS taken,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.patient_id = c.patient AND b.status IN :active
                     AND b.starts_at < c.e AND b.ends_at > c.s AND b.starts_at > c.s - interval '1 day') AS busy
    FROM unnest(CAST(:series AS uuid[]), CAST(:days AS date[]), CAST(:specialists AS uuid[]),
                CAST(:patients AS uuid[]), CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
         WITH ORDINALITY AS c(series, day, specialist, patient, s, e, n)
""").bindparams(sa.bindparam("active", value=list(ACTIVE_STATUSES), expanding=True))

_LOCK_PARTIES = sa.text("SELECT bookings_overlap_lock(CAST(:specialists AS uuid[]), CAST(:patients AS uuid[]))")

_UPDATE_SERIES = sa.text(
    "UPDATE recurring_bookings AS r SET next_occurrence_index = v.idx, "
    "next_booking_date = v.next_day, last_generated_date = v.last_day, is_active = v.active, "
    "updated_at = :now FROM unnest(CAST(:ids AS uuid[]), CAST(:idx AS integer[]), "
    "CAST(:next_days AS date[]), CAST(:last_days AS date[]), CAST(:active AS boolean[])) "
    "AS v(id, idx, next_day, last_day, active) WHERE r.id = v.id"
)


def insert_bookings_unless_they_clash(plan: Plan, now: datetime) -> None:
    """Insert the bookings and their history in one statement.

    The overlap trigger checks every row against the active bookings, those of
    this batch included, and refuses the whole statement if one clashes (the
    rare case: the planning knew only the rules). Then the batch's parties are
    locked, so nobody can book them until this transaction ends, the rows are
    classified in one query (and against each other, in plan order, as the
    database would have taken them), and only the clean ones go in; a clashing
    row becomes a skip with its reason. A row whose occurrence is booked already
    (by a run that overlapped this one) fails the first statement too, and is
    left out by the careful path's ON CONFLICT and dropped."""
    if not plan.bookings:
        return
    prepared = _prepared(plan)
    try:
        with db.session.begin_nested():
            inserted = _insert(plan.bookings, now, _INSERT_BOOKINGS, prepared and prepared.insert)
    except IntegrityError as error:
        if not _is_a_clash_or_booked_already(error.orig):
            raise
        inserted = _insert_the_clean_ones(plan, now)
    if len(inserted) < len(plan.bookings):
        plan.bookings = [b for b in plan.bookings if b["id"] in inserted]
    touch(db.session, {b["specialist_id"] for b in plan.bookings})


def _is_a_clash_or_booked_already(error) -> bool:
    state = getattr(error, "sqlstate", None)
    constraint = getattr(getattr(error, "diag", None), "constraint_name", None)
    return state == EXCLUSION_VIOLATION or (state == UNIQUE_VIOLATION and constraint == OCCURRENCE_KEY)


def _insert(bookings: list[dict], now: datetime, statement=_INSERT_BOOKINGS_UNLESS_BOOKED,
            arrays: dict | None = None) -> set:
    """The ids inserted: all of them, unless ON CONFLICT left some out (then one more query).
    Counting, not RETURNING the ids, spares fetching a row per booking."""
    if not bookings:
        return set()
    arrays = arrays or _booking_arrays(bookings)
    count = db.session.scalar(statement, {"now": now, **arrays})
    if count == len(bookings):
        return {b["id"] for b in bookings}
    return set(db.session.scalars(_WHICH_WENT_IN, {"ids": arrays["id"]}))


def _insert_the_clean_ones(plan: Plan, now: datetime) -> set:
    db.session.execute(_LOCK_PARTIES, {"specialists": pg_array({b["specialist_id"] for b in plan.bookings}),
                                       "patients": pg_array({b["patient_id"] for b in plan.bookings})}).all()
    clean = []
    taken = OtherBookings({}, {}, set())
    for booking, reason in why_refused(plan.bookings):
        if reason is None:  # booked already
            continue
        if reason == _CLEAR:
            reason = taken.clash_of(booking["specialist_id"], booking["patient_id"],
                                    booking["starts_at"], booking["ends_at"])
        if reason:
            plan.skip(booking["recurring_booking_id"], booking["occurrence_date"], reason, now)
            continue
        taken.add_of(booking["specialist_id"], booking["patient_id"], booking["starts_at"], booking["ends_at"])
        clean.append(booking)
    return _insert(clean, now)


_CLEAR = ""


def why_refused(bookings: list[dict]) -> list[tuple[dict, str | None]]:
    """Each booking's clash with the active bookings in the database: None when its
    occurrence is booked already, SLOT_TAKEN or PATIENT_BUSY, or _CLEAR (none)."""
    rows = db.session.execute(_WHY_REFUSED, {
        "series": pg_array(b["recurring_booking_id"] for b in bookings),
        "days": pg_array(b["occurrence_date"] for b in bookings),
        "specialists": pg_array(b["specialist_id"] for b in bookings),
        "patients": pg_array(b["patient_id"] for b in bookings),
        "starts": pg_array(b["starts_at"] for b in bookings),
        "ends": pg_array(b["ends_at"] for b in bookings),
    })
    reasons = {n: None if booked else SLOT_TAKEN if taken else PATIENT_BUSY if busy else _CLEAR
               for n, booked, taken, busy in rows}
    return [(booking, reasons[n]) for n, booking in enumerate(bookings, start=1)]


def update_series(plan: Plan, now: datetime) -> None:
    """Move every series of the batch past its planned occurrences in one statement."""
    prepared = _prepared(plan)
    arrays = prepared.update if prepared else _advance_arrays(plan.advances, plan.bookings)
    db.session.execute(_UPDATE_SERIES, {"now": now, **arrays})


@dataclass
class Prepared:
    """A batch's statement parameters, formatted ahead (while the batch before it is written).
    They hold while the plan's bookings are still the list they were made from: every one went in."""

    bookings: list[dict]
    insert: dict[str, str]
    update: dict[str, str]


def prepare(plan: Plan) -> None:
    plan.prepared = Prepared(plan.bookings, _booking_arrays(plan.bookings) if plan.bookings else {},
                             _advance_arrays(plan.advances, plan.bookings))


def _prepared(plan: Plan) -> Prepared | None:
    prepared = plan.prepared
    return prepared if isinstance(prepared, Prepared) and prepared.bookings is plan.bookings else None


def _booking_arrays(bookings: list[dict]) -> dict[str, str]:
    # service_id may be left out (None: a booking of no named service), every other column not.
    return {name: pg_array(b.get(name) if name == "service_id" else b[name] for b in bookings)
            for name in _BOOKING_COLUMNS}


def _advance_arrays(advances: list[dict], bookings: list[dict]) -> dict[str, str]:
    return {
        "ids": pg_array(a["id"] for a in advances),
        "idx": pg_array(a["next_occurrence_index"] for a in advances),
        "next_days": pg_array(a["next_booking_date"] for a in advances),
        "last_days": pg_array(last_generated_dates(advances, bookings)),
        "active": pg_array(a["is_active"] for a in advances),
    }
