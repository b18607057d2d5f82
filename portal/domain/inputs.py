"""The bounds every input meets, for the pages' forms and the JSON API alike.

A value outside them is refused (a form error on pages, a 400 naming the field in the
API) before it reaches a service, the database or an expensive conversion:
- text: no NUL or other control characters (tab, newline and carriage return only in
  multi-line fields; nor any other line break, U+0085, U+2028 or U+2029, in single-line
  ones), and at most a documented number of characters;
- numbers: plain digits only, so "1e1000000" is refused before any int(Decimal(...))
  would spend seconds building a million-digit integer;
- dates: inside a window the database and the dispatcher can hold;
- pages: capped (portal.selectors.pagination clamps the number it is given).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

# Maximum lengths, in characters (documented in docs/input-bounds.md).
MAX_EMAIL = 320  # what the forms and the users table always took
MAX_NAME = 120
MAX_SHORT_TEXT = 500         # a search, a title, a reference
MAX_REASON = 1_000           # a cancellation reason
MAX_LONG_TEXT = 20_000       # note text, amendments, descriptions
MAX_QUERY_VALUE = 2_000      # any one query-string value
MAX_METADATA_BYTES = 16 * 1024  # a note's metadata, as JSON
MAX_NUMBER_CHARS = 20        # "99999999.00" and every whole number we hold fit easily
MAX_RECORDING_SECONDS = 7 * 24 * 3600  # longer than a week is not a session recording
# Arrays and objects inside each other in a JSON body: ours nest three deep at most, and a body
# nested thousands deep would exhaust the recursion of the parser and of every walk over it.
MAX_JSON_DEPTH = 32

# Money is held in cents, in Numeric(10, 2) columns: the largest price they hold.
CENTS = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")

# Dates a filter or a URL may name; outside them the value is refused (or clamped).
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
DEFAULT_BOOKING_AHEAD_DAYS = 730

# A single line also refuses the C1 controls (NEL, U+0085, among them) and the Unicode line and
# paragraph separators: mail headers and some clients break a line at each of them.
_SINGLE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
_PLAIN_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class InputError(ValueError):
    """A value outside its bounds; the message is for the person who typed it."""


def has_control_chars(value: str, *, multiline: bool = False) -> bool:
    return bool((_MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD).search(value))


def text_problem(value, *, max_length: int, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None."""
    if not isinstance(value, str):
        return "Enter text."
    if has_control_chars(value, multiline=multiline):
        return "Remove the control characters (such as NUL) from this text."
    if len(value) > max_length:
        return f"Use at most {max_length:,} characters."
    return None




def parse_integer(value) -> int:
    """A whole number written as digits (a JSON integer or a string of at most
    MAX_NUMBER_CHARS digits); InputError for anything else, exponents included."""
    if isinstance(value, bool):
        raise InputError("Enter a whole number.")
    if isinstance(value, int):
        if abs(value) >= 10 ** MAX_NUMBER_CHARS:
            raise InputError("Enter a smaller number.")
        return value
    if isinstance(value, Decimal | float):
        value = str(value) if isinstance(value, float) else format(value, "f")
        if isinstance(value, str) and value.endswith(".0"):
            value = value[:-2]
    text = str(value).strip() if value is not None else ""
    if len(text) > MAX_NUMBER_CHARS or not _PLAIN_INTEGER.fullmatch(text):
        raise InputError("Enter a whole number.")
    return int(text)


def parse_decimal(value) -> Decimal:
    """A decimal written as digits with an optional point; no exponent, no NaN or
    infinity, at most MAX_NUMBER_CHARS characters."""
    if isinstance(value, bool):
        raise InputError("Enter a number.")
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() >= MAX_NUMBER_CHARS:
            raise InputError("Enter a number.")
        return value
    text = str(value).strip() if value is not None else ""
    if len(text) > MAX_NUMBER_CHARS or not _PLAIN_DECIMAL.fullmatch(text):
        raise InputError("Enter a number.")
    return Decimal(text)


def date_in_window(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST_DATE <= day <= LATEST_DATE


def moment_in_window(value: datetime) -> bool:
    """An aware datetime whose date, in its own offset and in UTC, lies inside the window
    (9999-12-31T23:00:00-14:00 is past what a datetime can hold once turned into UTC)."""
    try:
        return date_in_window(value) and date_in_window(value.astimezone(UTC))
    except OverflowError:
        return False


WINDOW_MESSAGE = f"Use a date between {EARLIEST_DATE} and {LATEST_DATE}."






def json_too_deep(value, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in a parsed JSON value nest deeper than `max_depth`
    (walked without recursion, so any depth the parser returned is measured safely)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def control_chars_at(value, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in a JSON-like value holding a
    control character other than tab, newline and carriage return; None when clean."""
    if isinstance(value, str):
        return path or "value" if has_control_chars(value, multiline=True) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and has_control_chars(key, multiline=True):
                return path or "value"
            found = control_chars_at(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = control_chars_at(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def metadata_problem(value) -> str | None:
    """Why a note's metadata is not acceptable, or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return "Metadata must be an object."
    try:
        encoded = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return "Metadata must be plain JSON."
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        return f"Use at most {MAX_METADATA_BYTES // 1024} KB of metadata."
    if control_chars_at(value):
        return "Remove the control characters (such as NUL) from the metadata."
    return None


def as_uuid(value) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one (ids arrive as text from URLs and JSON)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
