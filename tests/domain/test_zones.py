"""A person's zone: theirs when set and known, UTC otherwise."""
from types import SimpleNamespace

import pytest

from portal.domain.zones import offered_zone_for, offered_zones, zone_label, zone_named, zone_of, zone_region

REGIONS = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
           "Pacific"}


@pytest.mark.parametrize("name", [None, "", "Not/AZone", "../etc/passwd", "UTC"])
def test_a_missing_or_unknown_zone_is_utc(name):
    assert zone_of(SimpleNamespace(timezone=name)).key == "UTC"


def test_a_known_zone_is_the_persons_own():
    assert zone_of(SimpleNamespace(timezone="Europe/Lisbon")).key == "Europe/Lisbon"


def test_someone_without_a_zone_attribute_is_in_utc():
    assert zone_of(None).key == "UTC" and zone_named(None).key == "UTC"


def test_the_offered_zones_are_utc_and_area_city_names_only():
    zones = offered_zones()
    assert zones[0] == "UTC" and len(zones) == len(set(zones))
    assert {"Europe/Berlin", "Europe/Stockholm", "America/New_York", "Asia/Singapore", "Asia/Kolkata"} <= set(zones)
    assert not {"Factory", "GB-Eire", "GMT+0", "US/Eastern", "Asia/Calcutta", "EST5EDT", "Etc/GMT+5"} & set(zones)
    assert all(zone.split("/")[0] in REGIONS for zone in zones[1:])
    assert 300 < len(zones) < 450  # about 600 names in the database


@pytest.mark.parametrize("stored, offered", [
    ("US/Eastern", "America/New_York"), ("GB-Eire", "Europe/London"), ("GMT+0", "UTC"), ("Etc/UTC", "UTC"),
    ("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv"), ("Europe/Lisbon", "Europe/Lisbon"),
    ("Factory", None), ("Etc/GMT+5", None), ("Not/AZone", None), (None, None),
])
def test_a_stored_name_maps_to_the_offered_zone_it_stands_for(stored, offered):
    assert offered_zone_for(stored) == offered


def test_labels_put_the_city_first_so_typing_finds_it():
    assert zone_label("Europe/Isle_of_Man") == "Isle of Man"
    assert zone_label("America/Argentina/Buenos_Aires") == "Buenos Aires (Argentina)"
    assert zone_region("America/Argentina/Buenos_Aires") == "America" and zone_region("UTC") == "UTC"
