"""A person's time zone: theirs when it is set and known, UTC otherwise."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """The zone of that name; UTC for no name or one the zone database does not know."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def zone_of(person) -> ZoneInfo:
    """This person's zone (a patient, a specialist, the viewer), UTC if unknown."""
    return zone_named(getattr(person, "timezone", None))
