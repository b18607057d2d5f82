"""A short-lived cache of a specialist's free times as strangers see them (the public pages and the
signed-out API), so the clinic's front door stays fast under a landing page's traffic.

Each entry's key holds the specialist's version, a counter bumped after any commit that changed their
hours, exceptions, services, rates, packages, profile or bookings (an ORM listener below sees every
service's writes; bulk statements say so with `touch`). A bumped version makes every older entry
unreachable, so no process serves stale times once the change is committed: the versions and entries
live in Redis when REDIS_URL is set (shared by every gunicorn process), else in this process (the
embedded single-process default). Entries also expire after PUBLIC_CACHE_SECONDS."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.models import (
    AvailabilityException,
    Booking,
    BookingPackage,
    Service,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)

log = logging.getLogger(__name__)

PENDING = "public_cache_specialists"
PREFIX = "portal:public:"
_BY_SPECIALIST_ID = (AvailabilityException, Booking, BookingPackage, Service, SpecialistRate, WorkingHours)


class MemoryStore:
    """Entries and versions in this process, with their expiry."""

    def __init__(self, max_entries: int = 2000):
        self._entries: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str):
        with self._lock:
            expires, value = self._entries.get(key, (0.0, None))
        return value if expires > time.monotonic() else None

    def set(self, key: str, value, ttl: int) -> None:
        with self._lock:
            if len(self._entries) >= self._max:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._entries[key] = (time.monotonic() + ttl, value)

    def incr(self, key: str) -> None:
        with self._lock:
            _, value = self._entries.get(key, (0.0, 0))
            self._entries[key] = (float("inf"), int(value) + 1)


class RedisStore:
    def __init__(self, client):
        self.client = client

    def get(self, key: str):
        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value, ttl: int) -> None:
        self.client.set(key, json.dumps(value), ex=ttl)

    def incr(self, key: str) -> None:
        self.client.incr(key)


def _store():
    store = current_app.extensions.get("public_cache")
    if store is None:
        from portal.jobs.queue import redis_connection

        client = redis_connection()
        store = RedisStore(client) if client is not None else MemoryStore()
        current_app.extensions["public_cache"] = store
    return store


def _version(store, specialist_id) -> int:
    return int(store.get(f"{PREFIX}v:{specialist_id}") or 0)


def cached_slots(specialist_id: uuid.UUID, parts: Iterable, compute: Callable[[], list]) -> list:
    """`compute()` (a list of (starts_at, ends_at)), or the copy cached for these `parts` at the
    specialist's current version. An unreachable store computes afresh (logged)."""
    try:
        store = _store()
        key = f"{PREFIX}slots:{specialist_id}:{_version(store, specialist_id)}:" + ":".join(map(str, parts))
        hit = store.get(key)
        if hit is not None:
            return [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in hit]
    except Exception:  # noqa: BLE001 - redis errors and the like: the page is served uncached
        log.warning("public cache unavailable; slots computed afresh", exc_info=True)
        return compute()
    slots = compute()
    try:
        store.set(key, [(s.isoformat(), e.isoformat()) for s, e in slots], current_app.config["PUBLIC_CACHE_SECONDS"])
    except Exception:  # noqa: BLE001
        log.warning("public cache unavailable; slots not kept", exc_info=True)
    return slots


def touch(session: Session, specialist_ids: Iterable) -> None:
    """Mark specialists changed by a bulk statement: their version is bumped when `session` commits."""
    session.info.setdefault(PENDING, set()).update(i for i in specialist_ids if i is not None)


def _specialist_of(row) -> uuid.UUID | None:
    if isinstance(row, _BY_SPECIALIST_ID):
        return row.specialist_id
    if isinstance(row, SpecialistProfile | User):
        return row.id
    return None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    touch(session, (_specialist_of(row) for row in (*session.new, *session.dirty, *session.deleted)))


@event.listens_for(Session, "after_commit")
def _bump(session: Session) -> None:
    changed = session.info.pop(PENDING, None)
    if not changed or not has_app_context():
        return
    try:
        store = _store()
        for specialist_id in changed:
            store.incr(f"{PREFIX}v:{specialist_id}")
    except Exception:  # noqa: BLE001 - entries still expire after PUBLIC_CACHE_SECONDS
        log.warning("public cache unavailable; %d versions not bumped", len(changed), exc_info=True)


def public_free_slots(specialist: User, first, last, *, now: datetime, duration) -> list:
    """free_slots as a stranger (or staff) sees them, with no patient's own bookings left out: cached
    per specialist, version, service length, dates and minute."""
    from portal.selectors.availability import free_slots

    minute = now.replace(second=0, microsecond=0)
    parts = (int(duration.total_seconds()) // 60, first, last, minute.isoformat())
    slots = cached_slots(specialist.id, parts, lambda: free_slots(specialist, first, last, now=minute,
                                                                   duration=duration))
    return [(start, end) for start, end in slots if start >= now]
