"""Pieces every API module uses: the blueprint, pagination, the error shape."""
from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask_smorest.arguments import FlaskParser
from flask_sqlalchemy.pagination import Pagination

from portal.selectors.pagination import MAX_PAGE, MAX_PER_PAGE, paginate


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
