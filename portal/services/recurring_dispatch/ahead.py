"""The dispatcher's read-ahead on PostgreSQL: the next batch is read, checked and made ready on a
second connection while the current one is written. A run's wall time had been its Python work and
the database's work one after the other; now one batch's Python runs beside the other's writes.

The draft is read without locks. In its own transaction the batch then locks its series only if
each row is still the version read (lock_unchanged), and it plans under the limits again only if a
pair would go over (headroom); otherwise the draft, with its statements' parameters formatted
ahead, is what it writes."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from portal.services.recurring_dispatch import planning, postgres, reads
from portal.services.recurring_dispatch.planning import Due, Occurrence, Plan, RunCache, Series


@dataclass
class Draft:
    batch: list[Series]
    dues: list[Due]
    occurrences: list[Occurrence]
    checked: list[list[tuple]]
    plan: Plan  # as if every pair were within its limit, with its statements prepared
    pairs: reads.Pairs | None
    headroom: list[int]  # per pair (pairs.ordered): the most it may hold for the plan to stand
    lock: dict[str, str]  # lock_unchanged's parameters


def draft(low: uuid.UUID | None, high: uuid.UUID | None, until: date, now: datetime, cache: RunCache,
          size: int) -> Draft:
    """The next `size` due series from `low` (below `high`), read without locks and planned as far
    as can be without them: the day's rules checked, the rows made, the parameters formatted."""
    batch = reads.due_series(until, low=low, high=high, limit=size, lock=False)
    dues = [planning.due_occurrences(series, until) for series in batch]
    occurrences = [occ for due in dues for occ in due.occurrences]
    reads.load_rules(cache, occurrences)
    checked = planning.check_batch(dues, cache, now)
    plan = planning.plan_batch(dues, cache, None, now, None, checked)
    postgres.prepare(plan)
    pairs = reads.pairs_of(occurrences, now, cache) if occurrences else None
    room = planning.headroom(pairs.ordered, plan.bookings, cache.booking_rules) if pairs else []
    return Draft(batch, dues, occurrences, checked, plan, pairs, room, reads.lock_parameters(batch))


def locked_plan(draft: Draft, now: datetime, cache: RunCache) -> Plan | None:
    """Inside the batch's transaction: its series locked and its plan, or None when a series changed
    (or another run holds it) since the draft was read: the caller plans the batch afresh."""
    if not reads.lock_unchanged(draft.lock, len(draft.batch)):
        return None
    if not draft.occurrences:
        return draft.plan
    counted = reads.counted_pairs(draft.pairs)
    room = draft.headroom
    if min(room) >= 0 and all(count <= room[n] for n, count in counted):
        return draft.plan
    limits = planning.UpcomingLimits({draft.pairs.ordered[n]: count for n, count in counted}, cache.booking_rules)
    return planning.plan_batch(draft.dues, cache, None, now, limits, draft.checked)
