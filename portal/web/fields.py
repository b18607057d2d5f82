"""Form fields the pages share."""
from __future__ import annotations

import json
from functools import cache
from itertools import groupby
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select, html_params

from portal.domain.zones import offered_zone_for, offered_zones, zone_label, zone_links, zone_region

CURRENT_GROUP = "Your current zone"


def _is_zone(name: str | None) -> bool:
    try:
        ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone_choices(kept: str | None = None) -> tuple[SelectChoice, ...]:
    """UTC and the Area/City zones grouped by region; `kept`, a zone no offered one stands for,
    in a group of its own first. A tuple: every form shares it."""
    choices = (SelectChoice(kept, kept, optgroup=CURRENT_GROUP),) if kept else ()
    return choices + tuple(SelectChoice(name, zone_label(name), optgroup=zone_region(name))
                           for name in offered_zones())


@cache
def _zone_options_html(kept: str | None) -> str:
    """The optgroups and options of `_zone_choices(kept)` as WTForms' Select writes them, none selected."""
    html = []
    for group, choices in groupby(_zone_choices(kept), key=attrgetter("optgroup")):
        html.append(f"<optgroup {html_params(label=group)}>")
        html.extend(f"<option {html_params(value=choice.value)}>{escape(choice.label)}</option>"
                    for choice in choices)
        html.append("</optgroup>")
    return "".join(html)


@cache
def browser_zone_aliases() -> str:
    """JSON of the older Area/City names a browser may report (Asia/Calcutta) and the offered zone
    each stands for, for the script that preselects the browser's zone."""
    offered = set(offered_zones())
    regions = {zone_region(zone) for zone in offered} - {"UTC"}
    aliases = {alias: offered_zone_for(alias) for alias in zone_links()
               if alias.split("/", 1)[0] in regions and alias not in offered}
    return json.dumps({alias: zone for alias, zone in sorted(aliases.items()) if zone}, separators=(",", ":"))


class ZoneSelect(Select):
    """WTForms' Select for a ZoneField: the options are written once per kept zone (escaping some
    420 of them on every render would be most of the account page's time) and each render marks
    only the chosen one. The select's own attributes are written as Select writes them."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in dir(flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(flags, name)
        options = _zone_options_html(field.kept)
        if isinstance(field.data, str):
            options = options.replace(f"<option {html_params(value=field.data)}>",
                                      f"<option {html_params(selected=True, value=field.data)}>", 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class ZoneField(SelectField):
    """A time zone from the canonical Area/City zones and UTC, grouped by region (a plain select:
    keyboard-searchable by city, no script needed). A zone stored under an older name shows as
    the zone it stands for (US/Eastern as America/New_York), so saving moves it there; one that
    stands for none (Factory) stays offered as it is, so the form still saves."""

    widget = ZoneSelect()

    def __init__(self, label=None, validators=None, **kwargs):
        self.kept: str | None = None
        super().__init__(label, validators, choices=_zone_choices(), **kwargs)

    def _settle(self, name: str | None) -> None:
        offered = offered_zone_for(name)
        self.data = offered or name
        self.kept = None if offered or not _is_zone(name) else name
        self.choices = _zone_choices(self.kept)

    def process_data(self, value):
        self._settle(value)

    def process_formdata(self, valuelist):
        if valuelist:
            self._settle(valuelist[0])
