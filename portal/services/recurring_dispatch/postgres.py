"""PostgreSQL's statements for a batch: bookings that leave clashes out, why they clashed, the series' advances."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking
from portal.services.bulk import pg_array, pg_type
from portal.services.recurring_dispatch.planning import PATIENT_BUSY, SLOT_TAKEN, Plan

_BOOKING_COLUMNS = ("id", "patient_id", "specialist_id", "starts_at", "ends_at", "price", "currency",
                    "recurring_booking_id", "occurrence_date")

# Only names and types from the model go into the text; every value is a bound array.
_ARRAYS = ", ".join(f"CAST(:{name} AS {pg_type(Booking.__table__.c[name])}[])" for name in _BOOKING_COLUMNS)
_INSERT_BOOKINGS = sa.text(f"""
    WITH inserted AS (
        INSERT INTO bookings ({', '.join(_BOOKING_COLUMNS)}, status, created_at, updated_at)
        SELECT *, 'confirmed', CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM unnest({_ARRAYS})
        ON CONFLICT DO NOTHING
        RETURNING id, created_at
    ), history AS (
        INSERT INTO booking_status_history (id, booking_id, from_status, to_status, created_at)
        SELECT gen_random_uuid(), id, NULL, 'confirmed', created_at FROM inserted
    )
    SELECT id FROM inserted
""")

_WHY_REFUSED = sa.text("""
    SELECT c.n,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.recurring_booking_id = c.series AND b.occurrence_date = c.day
                     AND b.status IN :active) AS booked,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.specialist_id = c.specialist AND b.status IN :active
                     AND tstzrange(b.starts_at, b.ends_at, '[)') && tstzrange(c.s, c.e, '[)')) AS taken
    FROM unnest(CAST(:series AS uuid[]), CAST(:days AS date[]), CAST(:specialists AS uuid[]),
                CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
         WITH ORDINALITY AS c(series, day, specialist, s, e, n)
""").bindparams(sa.bindparam("active", value=list(ACTIVE_STATUSES), expanding=True))

_UPDATE_SERIES = sa.text(
    "UPDATE recurring_bookings AS r SET next_occurrence_index = v.idx, "
    "next_booking_date = v.next_day, last_generated_date = v.last_day, is_active = v.active, "
    "updated_at = :now FROM unnest(CAST(:ids AS uuid[]), CAST(:idx AS integer[]), "
    "CAST(:next_days AS date[]), CAST(:last_days AS date[]), CAST(:active AS boolean[])) "
    "AS v(id, idx, next_day, last_day, active) WHERE r.id = v.id"
)


def insert_bookings_unless_they_clash(plan: Plan, now: datetime) -> None:
    """Insert the bookings and their history in one statement.

    The exclusion constraints check every row against the bookings already
    there and those inserted before it; a row they refuse (or one whose
    occurrence is already booked) is left out rather than failing the batch,
    then given its reason here."""
    if not plan.bookings:
        return
    arrays = {name: pg_array(b[name] for b in plan.bookings) for name in _BOOKING_COLUMNS}
    inserted = set(db.session.scalars(_INSERT_BOOKINGS, {"now": now, **arrays}))
    refused = [b for b in plan.bookings if b["id"] not in inserted]
    if refused:
        plan.bookings = [b for b in plan.bookings if b["id"] in inserted]
        for booking, reason in why_refused(refused):
            if reason:
                plan.skip(booking["recurring_booking_id"], booking["occurrence_date"], reason, now)


def why_refused(refused: list[dict]) -> list[tuple[dict, str | None]]:
    """The reason each refused booking was refused; None when its occurrence
    was booked already (by a run that overlapped this one)."""
    rows = db.session.execute(_WHY_REFUSED, {
        "series": pg_array(b["recurring_booking_id"] for b in refused),
        "days": pg_array(b["occurrence_date"] for b in refused),
        "specialists": pg_array(b["specialist_id"] for b in refused),
        "starts": pg_array(b["starts_at"] for b in refused),
        "ends": pg_array(b["ends_at"] for b in refused),
    })
    reasons = {n: None if booked else SLOT_TAKEN if taken else PATIENT_BUSY for n, booked, taken in rows}
    return [(booking, reasons[n]) for n, booking in enumerate(refused, start=1)]


def update_series(advances: list[dict], now: datetime) -> None:
    """Move every series of the batch past its planned occurrences in one statement."""
    db.session.execute(_UPDATE_SERIES, {
        "now": now, "ids": pg_array(a["id"] for a in advances),
        "idx": pg_array(a["next_occurrence_index"] for a in advances),
        "next_days": pg_array(a["next_booking_date"] for a in advances),
        "last_days": pg_array(a["last_generated_date"] for a in advances),
        "active": pg_array(a["is_active"] for a in advances),
    })
