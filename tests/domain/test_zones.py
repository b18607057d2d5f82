"""A person's zone: theirs when set and known, UTC otherwise."""
from types import SimpleNamespace

import pytest

from portal.domain.zones import zone_named, zone_of


@pytest.mark.parametrize("name", [None, "", "Not/AZone", "../etc/passwd", "UTC"])
def test_a_missing_or_unknown_zone_is_utc(name):
    assert zone_of(SimpleNamespace(timezone=name)).key == "UTC"


def test_a_known_zone_is_the_persons_own():
    assert zone_of(SimpleNamespace(timezone="Europe/Lisbon")).key == "Europe/Lisbon"


def test_someone_without_a_zone_attribute_is_in_utc():
    assert zone_of(None).key == "UTC" and zone_named(None).key == "UTC"
