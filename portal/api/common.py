"""Pieces every API module uses: pagination, the error shape, loaders."""
from __future__ import annotations

import marshmallow as ma


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class ErrorSchema(ma.Schema):
    success = ma.fields.Boolean()
    error = ma.fields.String()
    message = ma.fields.String()
    fields = ma.fields.Dict()


def page_of(query_total: int, items: list, page: int, per_page: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": query_total}
