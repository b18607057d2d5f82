"""The daily dispatcher: every active series' occurrences inside the booking
horizon (RECURRING_HORIZON_DAYS after the run date) that are not yet booked or
skipped become bookings, so a series holds its sessions ahead. `book_series`
(run.py) does the same for one series inside the caller's transaction, when a
series is created or resumed.

run.py drives it, reads.py queries, planning.py decides (pure, no database),
postgres.py holds the PostgreSQL statements.

It works in batches of series, each read with a handful of set-based queries
(the series, their specialists' hours, exceptions and rates) and written with
one statement per table, so its cost grows with the data it writes, not with
round trips:
- the rules of the day (a session time already past, no rate, outside the
  specialist's hours or inside an exception) are checked in Python with the
  pure `availability.day_windows`, computed once per specialist and day;
- overlaps with other bookings are checked by the database as the rows go in:
  on PostgreSQL the bookings' overlap trigger (migration 0020) checks the whole
  statement and refuses it if one row clashes; only then are the batch's
  parties locked, its rows classified in one query, and the clean ones
  inserted, the others skipped with their reason. SQLite, whose triggers abort
  too, gets the overlaps checked in Python against the bookings loaded for the batch;
- an occurrence that breaks a rule, or whose start has passed (a catch-up
  after missed runs), is recorded as a RecurringOccurrenceSkip with its
  reason, and the series moves on to the next occurrence;
- a batch commits atomically; if it fails, its series are retried one by one,
  each in its own transaction, so one bad series cannot take the others down;
- on PostgreSQL the due series are locked FOR UPDATE SKIP LOCKED, so two
  dispatchers running at once share the work instead of doubling it, and the
  unique occurrence key makes a second booking of one occurrence impossible.
"""
from portal.services.recurring_dispatch.planning import (
    MISSED,
    NO_RATE,
    PATIENT_BUSY,
    SLOT_TAKEN,
    UNAVAILABLE,
)
from portal.services.recurring_dispatch.run import DATABASE_ERROR, dispatch

__all__ = ["DATABASE_ERROR", "MISSED", "NO_RATE", "PATIENT_BUSY", "SLOT_TAKEN", "UNAVAILABLE", "dispatch"]
