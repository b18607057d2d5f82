"""Free times as the slot pickers show them (moving a session, booking a client in): grouped by the
viewer's local date, each formatted once here rather than by the template for every button."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from portal import clock
from portal.domain.zones import zone_of
from portal.models import User
from portal.selectors.availability import next_free_slots, rate_on
from portal.selectors.specialists import late_cancel_notice_hours
from portal.web.templating import LOCAL_DATETIME_FORMAT, viewer_zone

SLOT_DAYS = 14


class SlotButton(NamedTuple):
    starts_at: str  # ISO 8601 with its offset, as the form posts it back
    label: str  # e.g. "Mon 01 Dec 2026, 09:00", what a screen reader hears
    time: str  # "09:00", the button's text


def slot_days(specialist: User, *, patient_id: uuid.UUID, duration: timedelta | None = None,
              moving_id: uuid.UUID | None = None, rules_apply: bool = True,
              service_id: uuid.UUID | None = None) -> dict:
    """The specialist's free times of the service (the default one when None) for the next
    SLOT_DAYS days that suit the patient too."""
    now = clock.now()
    rate = rate_on(specialist.id, clock.today(zone_of(specialist).key), service_id)
    if rate is None:
        return {}
    zone = viewer_zone()
    days = defaultdict(list)
    for start, _end in next_free_slots(specialist, now=now, patient_id=patient_id, days=SLOT_DAYS, rate=rate,
                                       duration=duration, moving_id=moving_id, rules_apply=rules_apply):
        local = start.astimezone(zone)
        days[local.date()].append(SlotButton(start.isoformat(), local.strftime(LOCAL_DATETIME_FORMAT),
                                             local.strftime("%H:%M")))
    return dict(days)


def session_spans(specialist: User, starts_at: datetime, ends_at: datetime) -> tuple[str, str | None]:
    """A session's day and hours in the viewer's zone, and in the specialist's when their clocks differ."""
    zone, their_zone = viewer_zone(), zone_of(specialist)
    local, theirs = starts_at.astimezone(zone), starts_at.astimezone(their_zone)
    span = f"{local:%A %d %B %Y}, {local:%H:%M}–{ends_at.astimezone(zone):%H:%M} ({zone.key})"
    their_span = (f"{theirs:%A %d %B}, {theirs:%H:%M}–{ends_at.astimezone(their_zone):%H:%M} ({their_zone.key})"
                  if their_zone.key != zone.key and local.utcoffset() != theirs.utcoffset() else None)
    return span, their_span


def cancellation_sentence(specialist: User) -> str:
    """The specialist's cancellation terms in one sentence, for a review before booking or moving."""
    hours = late_cancel_notice_hours(specialist_id=specialist.id)
    if not hours:
        return "You can cancel at any time before the session; no refund is made for a paid session."
    return (f"Cancel at least {hours} hours before to keep a package session; later cancellations are late, and "
            "no refund is made for a paid session.")


def parse_start(value: str | None) -> datetime | None:
    """A slot's start as the form posted it: aware ISO 8601, else None."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
