"""Recurrence dates: anchored to the start date, never to the previous occurrence."""
from __future__ import annotations

from datetime import date

from portal.domain.recurrence import first_index_from, occurrence_date


def test_every_frequency_counts_from_the_start_date():
    start = date(2027, 1, 31)
    assert [occurrence_date(start, "monthly", i) for i in range(4)] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert occurrence_date(start, "weekly", 2) == date(2027, 2, 14)
    assert occurrence_date(start, "biweekly", 2) == date(2027, 2, 28)


def test_first_index_from_skips_the_occurrences_before_the_day():
    start = date(2027, 1, 4)
    assert first_index_from(start, "weekly", 0, date(2027, 1, 4)) == 0
    assert first_index_from(start, "weekly", 0, date(2027, 1, 12)) == 2
    assert first_index_from(start, "weekly", 3, date(2027, 1, 5)) == 3
