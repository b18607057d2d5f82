"""The portal's one source of "now", so tests can move time (note locks,
link expiry, the dispatcher's run date) without sleeping."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# The pins in force, innermost last. Shared by every thread (a dispatcher's reading thread sees
# its caller's pin); each block removes its own pin, so blocks in two threads that end in either
# order leave nothing pinned behind.
_pins: list[list[datetime]] = []
_pins_lock = threading.Lock()


def now() -> datetime:
    pins = _pins
    return pins[-1][0] if pins else datetime.now(UTC)


def today(zone: str = "UTC") -> date:
    return now().astimezone(ZoneInfo(zone)).date()


@contextmanager
def frozen(at: datetime):
    """Pin now() to `at` (aware) inside the block."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    pin = [at.astimezone(UTC)]  # a list of its own: removed by identity, never by an equal pin
    with _pins_lock:
        _pins.append(pin)
    try:
        yield
    finally:
        with _pins_lock:
            del _pins[next(i for i, p in enumerate(_pins) if p is pin)]


def pin_process(at: datetime | None) -> None:
    """Pin now() to `at` for the whole process, or unpin it (None): a server process that follows
    another's clock (the live-server tests) rather than a block of its own."""
    with _pins_lock:
        _pins[:] = [[at.astimezone(UTC)]] if at is not None else []
