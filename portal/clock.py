"""The portal's one source of "now", so tests can move time (note locks,
link expiry, the dispatcher's run date) without sleeping."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def today(zone: str = "UTC") -> date:
    return now().astimezone(ZoneInfo(zone)).date()


@contextmanager
def frozen(at: datetime):
    """Pin now() to `at` (aware) inside the block."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous
