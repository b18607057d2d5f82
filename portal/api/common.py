"""Pieces every API module uses: the blueprint, pagination, the error shape."""
from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask_smorest.arguments import FlaskParser


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # webargs says 422; our API answers every bad input with 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, documenting (and raising) 400 for invalid arguments."""

    ARGUMENTS_PARSER = _Parser()


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


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


def page_of(query_total: int, items: list, page: int, per_page: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": query_total}
