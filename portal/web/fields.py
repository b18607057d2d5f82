"""Form fields the pages share."""
from __future__ import annotations

import json
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from portal.domain.zones import offered_zone_for, offered_zones, zone_label, zone_links, zone_region

CURRENT_GROUP = "Your current zone"


def _is_zone(name: str | None) -> bool:
    try:
        ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _zone_choices(kept: str | None = None) -> list[SelectChoice]:
    """UTC and the Area/City zones grouped by region; `kept`, a zone no offered one stands for,
    in a group of its own first."""
    choices = [SelectChoice(kept, kept, optgroup=CURRENT_GROUP)] if kept else []
    return choices + [SelectChoice(name, zone_label(name), optgroup=zone_region(name)) for name in offered_zones()]


@cache
def browser_zone_aliases() -> str:
    """JSON of the older Area/City names a browser may report (Asia/Calcutta) and the offered zone
    each stands for, for the script that preselects the browser's zone."""
    offered = set(offered_zones())
    regions = {zone_region(zone) for zone in offered} - {"UTC"}
    aliases = {alias: offered_zone_for(alias) for alias in zone_links()
               if alias.split("/", 1)[0] in regions and alias not in offered}
    return json.dumps({alias: zone for alias, zone in sorted(aliases.items()) if zone}, separators=(",", ":"))


class ZoneField(SelectField):
    """A time zone from the canonical Area/City zones and UTC, grouped by region (a plain select:
    keyboard-searchable by city, no script needed). A zone stored under an older name shows as
    the zone it stands for (US/Eastern as America/New_York), so saving moves it there; one that
    stands for none (Factory) stays offered as it is, so the form still saves."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=_zone_choices(), **kwargs)

    def _settle(self, name: str | None) -> None:
        offered = offered_zone_for(name)
        self.data = offered or name
        self.choices = _zone_choices(kept=None if offered or not _is_zone(name) else name)

    def process_data(self, value):
        self._settle(value)

    def process_formdata(self, valuelist):
        if valuelist:
            self._settle(valuelist[0])
