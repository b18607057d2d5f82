"""Pieces every API module uses: the blueprint, pagination, the error shape."""
from __future__ import annotations

from decimal import Decimal

import flask_smorest
import marshmallow as ma
from flask_smorest.arguments import FlaskParser
from flask_sqlalchemy.pagination import Pagination

from portal.domain.inputs import (
    CENTS,
    MAX_SHORT_TEXT,
    WINDOW_MESSAGE,
    InputError,
    date_in_window,
    moment_in_window,
    parse_decimal,
    text_problem,
)
from portal.selectors.pagination import MAX_PAGE, MAX_PER_PAGE, paginate


class BoundedDate(ma.fields.Date):
    """A date inside portal.domain.inputs' window: 0001-01-01 and 9999-12-31 are a 400, not an
    overflow when a day is added or a time zone applied further on."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not date_in_window(day):
            raise ma.ValidationError(WINDOW_MESSAGE)
        return day


class BoundedDateTime(ma.fields.AwareDateTime):
    """An aware datetime whose date, in its own offset and in UTC, lies inside the window."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not moment_in_window(moment):
            raise ma.ValidationError(WINDOW_MESSAGE)
        return moment


class Money(ma.fields.Decimal):
    """An amount with two decimals, written as a string ("100.00"), as the API answers it.
    Parsed by portal.domain.inputs (no exponents), and documented as a string with a pattern, so
    that the OpenAPI document holds no string-valued `maximum`."""

    PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"

    def __init__(self, *args, minimum: Decimal | int | None = None, maximum: Decimal | int | None = None,
                 **kwargs):
        kwargs.setdefault("places", 2)
        kwargs["as_string"] = True
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.metadata = {"type": "string", "pattern": self.PATTERN, "example": "100.00", **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount = parse_decimal(value)
        except InputError:
            raise ma.ValidationError("Enter an amount such as 100.00.") from None
        if amount != amount.quantize(CENTS):
            raise ma.ValidationError("Use at most two decimals.")
        if (self.minimum is not None and amount < self.minimum) or (self.maximum is not None and amount > self.maximum):
            raise ma.ValidationError(f"Enter an amount between {self.minimum} and {self.maximum}.")
        return amount.quantize(CENTS)


class Text(ma.fields.String):
    """Single-line text: no control characters, at most `max_length` characters (multi-line
    text allows tab and newline)."""

    def __init__(self, *args, max_length: int = MAX_SHORT_TEXT, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_length, self.multiline = max_length, multiline
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, max_length=self.max_length, multiline=self.multiline)
        if problem:
            raise ma.ValidationError(problem)
        return text


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # webargs says 422; our API answers every bad input with 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, documenting (and raising) 400 for invalid arguments."""

    ARGUMENTS_PARSER = _Parser()


class PageArgs(ma.Schema):
    """page and per_page of every list; out of range is a 400 that names the field, never a
    number that reaches OFFSET (portal.selectors.pagination clamps again underneath)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


class ErrorSchema(ma.Schema):
    """Every API error: {"success": false, "error": CODE, "message", "fields": {name: message}}."""

    success = ma.fields.Boolean()
    error = ma.fields.String()
    message = ma.fields.String()
    fields = ma.fields.Dict()


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of `item_schema` rows: {items, page, per_page, total}.

    Named after the item schema (BookingSchema -> BookingPageSchema) so the
    OpenAPI document keeps one readable component per list."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
        "total": ma.fields.Integer(),
    }, name=name)


def paginate_args(query, args: dict) -> Pagination:
    """One page of `query` as PageArgs asked for it: the pages' helper, for the API."""
    return paginate(query, page=args["page"], per_page=args["per_page"])


def page_of(pagination: Pagination, items: list | None = None) -> dict:
    """The body of a page_schema() answer; `items` when the rows are dumped by hand."""
    return {"items": pagination.items if items is None else items, "page": pagination.page,
            "per_page": pagination.per_page, "total": pagination.total}
