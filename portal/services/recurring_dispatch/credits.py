"""Package credits for a batch's new bookings, in a fixed number of statements:
one read of the usable enrolments (locked on PostgreSQL), the allocation in Python, one
UPDATE of the bookings and one of the enrolments, whatever the batch's size."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Booking, PackageEnrolment
from portal.models.bulk import is_postgres, pg_array
from portal.services.recurring_dispatch import reads
from portal.services.recurring_dispatch.planning import Plan, allocate_credits

_PG_BOOKINGS = sa.text(
    "UPDATE bookings AS b SET package_enrolment_id = v.enrolment FROM unnest(CAST(:ids AS uuid[]), "
    "CAST(:enrolments AS uuid[])) AS v(id, enrolment) WHERE b.id = v.id")
# The guard (credits_used + n <= credits_total) can only fail if a row changed after the
# locked read; the batch then fails and its series are retried one by one.
_PG_ENROLMENTS = sa.text(
    "UPDATE package_enrolments AS e SET credits_used = e.credits_used + v.n, updated_at = :now "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:counts AS integer[])) AS v(id, n) "
    "WHERE e.id = v.id AND e.status = 'active' AND e.credits_used + v.n <= e.credits_total")


class CreditsChanged(RuntimeError):
    """An enrolment's credits changed between the batch's read and its write."""


def draw_credits(plan: Plan, now: datetime) -> int:
    """Pay the batch's inserted bookings from package credits where the patient has some."""
    if not plan.bookings:
        return 0
    enrolments = reads.usable_enrolments(plan.bookings)
    if not enrolments:  # most nights, most batches: nothing to sort and match (0.1 s a batch of 20,000)
        return 0
    paid = allocate_credits(plan.bookings, enrolments)
    if not paid:
        return 0
    for booking in plan.bookings:
        booking["package_enrolment_id"] = paid.get(booking["id"])
    counts = Counter(paid.values())
    if is_postgres():
        db.session.execute(_PG_BOOKINGS, {"ids": pg_array(paid), "enrolments": pg_array(paid.values())})
        changed = db.session.execute(_PG_ENROLMENTS, {
            "now": now, "ids": pg_array(counts), "counts": pg_array(counts.values())}).rowcount
    else:
        changed = _sqlite_write(paid, counts, now)
    if changed != len(counts):
        raise CreditsChanged(f"{len(counts) - changed} enrolments changed during the batch")
    return len(paid)


def _sqlite_write(paid: dict, counts: Counter, now: datetime) -> int:
    bookings, enrolments = Booking.__table__, PackageEnrolment.__table__
    db.session.execute(
        sa.update(bookings).where(bookings.c.id == sa.bindparam("b_id"))
        .values(package_enrolment_id=sa.bindparam("b_enrolment")),
        [{"b_id": booking_id, "b_enrolment": enrolment_id} for booking_id, enrolment_id in paid.items()])
    return db.session.execute(  # executemany: sqlite3 sums the rows each one changed
        sa.update(enrolments).where(enrolments.c.id == sa.bindparam("e_id"), enrolments.c.status == "active",
                                    enrolments.c.credits_used + sa.bindparam("e_n") <= enrolments.c.credits_total)
        .values(credits_used=enrolments.c.credits_used + sa.bindparam("e_n"), updated_at=now),
        [{"e_id": enrolment_id, "e_n": n} for enrolment_id, n in counts.items()]).rowcount
