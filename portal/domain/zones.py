"""A person's time zone: theirs when it is set and known, UTC otherwise; and the zones people
choose from."""
from __future__ import annotations

from functools import cache
from importlib import resources
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


# ---- the zones people choose from -------------------------------------------------------
# The tz database's own lists of Area/City zones: zone1970.tab (one per region whose clocks
# agreed since 1970) and zone.tab (one per country too, e.g. Europe/Stockholm). Everything else
# the database holds (Factory, GB-Eire, GMT+0, US/Eastern...) is an old or technical name.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/Greenwich",
                       "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich",
                       "UCT", "Universal", "Zulu"})


def _tzdata_text(name: str) -> str:
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


def _tab_zones(name: str) -> set[str]:
    """The zone column of a zone.tab-style file."""
    rows = (line.split("\t") for line in _tzdata_text(name).splitlines() if line and not line.startswith("#"))
    return {row[2] for row in rows if len(row) >= 3}


@cache
def offered_zones() -> tuple[str, ...]:
    """The zones a person chooses from: UTC, then every Area/City zone, sorted."""
    return ("UTC", *sorted(_tab_zones("zone1970.tab") | _tab_zones("zone.tab")))


@cache
def zone_links() -> dict[str, str]:
    """Each old or alternative zone name and the zone it stands for (the tz database's links)."""
    links = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            links[alias] = target
    return links


def offered_zone_for(name: str | None) -> str | None:
    """The offered zone a stored name stands for (US/Eastern: America/New_York; GMT+0: UTC), or
    None when it stands for none (Factory, a fixed offset such as Etc/GMT+5, an unknown name)."""
    offered = set(offered_zones())
    for candidate in (name, zone_links().get(name or "")):
        if candidate in UTC_NAMES:
            return "UTC"
        if candidate in offered:
            return candidate
    return None


def zone_label(name: str) -> str:
    """How a zone reads in a list grouped by region, city first so that typing finds it:
    America/Argentina/Buenos_Aires is "Buenos Aires (Argentina)"."""
    if name == "UTC":
        return "UTC (Coordinated Universal Time)"
    parts = [part.replace("_", " ") for part in name.split("/")[1:]]
    return parts[-1] + (f" ({', '.join(parts[:-1])})" if len(parts) > 1 else "")


def zone_region(name: str) -> str:
    return "UTC" if name == "UTC" else name.split("/", 1)[0]
