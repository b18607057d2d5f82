"""Cron lines said in words for people ("daily at 02:00 UTC"), and how far off a time is
("in 5 h"). The schedule's cron strings are UTC (portal.jobs.schedule)."""
from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter


def cron_in_words(cron: str) -> str:
    """The common shapes in words; any other line as it is written."""
    fields = cron.split()
    if len(fields) != 5:
        return cron
    minute, hour, day, month, weekday = fields
    if (day, month, weekday) != ("*", "*", "*"):
        return f"cron {cron} (UTC)"
    if minute.isdigit() and hour.isdigit():
        return f"daily at {int(hour):02d}:{int(minute):02d} UTC"
    if hour == "*" and minute == "*":
        return "every minute"
    if hour == "*" and minute.startswith("*/") and minute[2:].isdigit():
        return f"every {int(minute[2:])} minutes"
    return f"cron {cron} (UTC)"


def next_cron_run(cron: str, now: datetime) -> datetime:
    return croniter(cron, now).get_next(datetime)


def time_until(when: datetime, now: datetime) -> str:
    """'in 5 h', 'in 1 h 20 min', 'in 12 min', 'in under a minute'."""
    left = when - now
    if left < timedelta(minutes=1):
        return "in under a minute"
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        return f"in {hours // 24} d {hours % 24} h" if hours % 24 else f"in {hours // 24} d"
    if hours and minutes and hours < 10:
        return f"in {hours} h {minutes} min"
    if hours:
        return f"in {hours} h"
    return f"in {minutes} min"
