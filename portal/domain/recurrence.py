"""When a recurring series' occurrences fall: pure date arithmetic, no database.

Occurrence dates are computed from the start date and the occurrence's index
(python-dateutil's relativedelta), never by adding to the previous date, so a
monthly series starting on 31 January falls on 28/29 February, 31 March,
30 April."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from portal.domain.intervals import local_at

FREQUENCIES = ("weekly", "biweekly", "monthly")
_STEPS = {
    "weekly": lambda i: relativedelta(weeks=i),
    "biweekly": lambda i: relativedelta(weeks=2 * i),
    "monthly": lambda i: relativedelta(months=i),
}


@lru_cache(maxsize=65536)
def occurrence_date(start: date, frequency: str, index: int) -> date:
    """The `index`-th occurrence (0 = start), anchored to the start date.

    Cached: the dispatcher asks for the same few (start, frequency, index)
    combinations for many series, and relativedelta is slow."""
    return start + _STEPS[frequency](index)


# The UTC start of a local date and time in the specialist's zone: the same rule as a slot's.
occurrence_start = local_at


def first_index_from(start: date, frequency: str, index: int, day: date) -> int:
    """The first occurrence index, counting up from `index`, that falls on or after `day`."""
    while occurrence_date(start, frequency, index) < day:
        index += 1
    return index
