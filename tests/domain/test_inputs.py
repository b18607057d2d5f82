"""The shared input bounds (portal.domain.inputs) that forms, API schemas and services use."""
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portal.domain.inputs import (
    InputError,
    metadata_problem,
    moment_in_window,
    parse_decimal,
    parse_integer,
    text_problem,
)


@pytest.mark.parametrize("value", ["1e1000000", "1E5", "9" * 21, "NaN", "inf", "1.5", " ", "", None, True, "0x10",
                                   "1_000", 1e300])
def test_integers_are_plain_digits_only(value):
    with pytest.raises(InputError):
        parse_integer(value)


@pytest.mark.parametrize("value, expected", [("42", 42), (" -7 ", -7), (12, 12), (3.0, 3), (Decimal("5"), 5)])
def test_plain_integers_parse(value, expected):
    assert parse_integer(value) == expected


@pytest.mark.parametrize("value", ["1e1000000", "1e2", "NaN", "-Infinity", "1.2.3", "", Decimal("1e30")])
def test_decimals_refuse_exponents_and_specials(value):
    with pytest.raises(InputError):
        parse_decimal(value)


def test_decimals_parse_digits_with_a_point():
    assert parse_decimal("320.50") == Decimal("320.50") and parse_decimal(".5") == Decimal("0.5")


@pytest.mark.parametrize("value, multiline, ok", [
    ("fine", False, True), ("tab\there", False, False), ("tab\there", True, True), ("line\nbreak", True, True),
    ("nul\x00", True, False), ("bell\x07", True, False), ("del\x7f", True, False), ("x" * 121, False, False),
    ("line\u2028separator", False, False), ("paragraph\u2029separator", False, False),
    ("next\x85line", False, False), ("line\u2028separator", True, True), ("Zoë Ångström 日本", False, True),
])
def test_text_refuses_control_characters_and_length(value, multiline, ok):
    assert (text_problem(value, max_length=120, multiline=multiline) is None) is ok


def test_far_moments_are_outside_the_window_without_overflowing():
    far = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))
    assert not moment_in_window(far)
    assert not moment_in_window(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))
    assert moment_in_window(datetime(2030, 1, 1, tzinfo=UTC))


def test_metadata_is_bounded_and_clean():
    assert metadata_problem({"mood_level": 5}) is None
    assert "16 KB" in metadata_problem({"x": "y" * 17_000})
    assert metadata_problem({"a": ["ok", {"b": "nul\x00"}]}) is not None
    assert metadata_problem({"k\x00": 1}) is not None
