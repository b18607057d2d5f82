"""/api/v1/booking-packages: list, create, read, change and delete packages."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint, BoundedDateTime, Money, PageArgs, page_of, page_schema
from portal.extensions import db
from portal.selectors.packages import packages_visible, pricing_for
from portal.services.packages import (
    CURRENCIES,
    package_create,
    package_delete,
    package_load,
    package_update,
)
from portal.web.blueprints import public_read

blp = Blueprint("api_packages", __name__, url_prefix="/api/v1/booking-packages",
                description="Specialists' multi-session packages")


class PackageSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    specialist_id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String()
    session_count = ma.fields.Integer()
    price = Money()
    currency = ma.fields.String(metadata={"enum": list(CURRENCIES)})
    discount_percentage = Money()
    valid_for_days = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()
    price_per_session = Money(dump_only=True)
    saving_vs_rate = Money(dump_only=True, allow_none=True)
    created_at = BoundedDateTime(dump_only=True)
    updated_at = BoundedDateTime(dump_only=True)


class PackageInSchema(ma.Schema):
    """Input: values are checked by the service so that pages and API give the same messages."""

    name = ma.fields.Raw()
    description = ma.fields.Raw()
    session_count = ma.fields.Raw()
    price = ma.fields.Raw()
    currency = ma.fields.Raw()
    discount_percentage = ma.fields.Raw()
    valid_for_days = ma.fields.Raw(allow_none=True)
    is_active = ma.fields.Raw()


class PackageCreateSchema(PackageInSchema):
    specialist_id = ma.fields.UUID(load_default=None)


class PackageListArgs(PageArgs):
    specialist_id = ma.fields.UUID(load_default=None)
    is_active = ma.fields.Boolean(load_default=None)


PackagePageSchema = page_schema(PackageSchema)


def _dump(packages: list) -> list[dict]:
    pricing = pricing_for(packages)
    out = []
    for package in packages:
        row = {key: getattr(package, key) for key in PackageSchema().fields if hasattr(package, key)}
        row["price_per_session"] = pricing[package.id].per_session
        row["saving_vs_rate"] = pricing[package.id].saving
        out.append(row)
    return out


@blp.route("")
@public_read
@blp.doc(security=[])
@blp.arguments(PackageListArgs, location="query")
@blp.response(200, PackagePageSchema)
def list_packages(args):
    packages = packages_visible(user=current_user, specialist_id=args["specialist_id"],
                                is_active=args["is_active"], page=args["page"], per_page=args["per_page"])
    return page_of(packages, _dump(packages.items))


@blp.route("", methods=["POST"])
@blp.arguments(PackageCreateSchema)
@blp.response(201, PackageSchema)
def create_package(data):
    specialist_id = data.pop("specialist_id", None) or current_user.id
    package = package_create(actor=current_user, specialist_id=specialist_id, data=data)
    db.session.commit()
    return _dump([package])[0]


@blp.route("/<uuid:package_id>")
@public_read
@blp.doc(security=[])
@blp.response(200, PackageSchema)
def get_package(package_id):
    return _dump([package_load(actor=current_user, package_id=package_id)])[0]


@blp.route("/<uuid:package_id>", methods=["PATCH"])
@blp.arguments(PackageInSchema)
@blp.response(200, PackageSchema)
def patch_package(data, package_id):
    package = package_update(actor=current_user, package_id=package_id, data=data)
    db.session.commit()
    return _dump([package])[0]


@blp.route("/<uuid:package_id>", methods=["DELETE"])
@blp.response(204)
def delete_package(package_id):
    package_delete(actor=current_user, package_id=package_id)
    db.session.commit()
    return ""
