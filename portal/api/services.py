"""What a specialist offers: GET|POST /api/v1/specialists/<id>/services, PATCH /api/v1/services/<id>."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import clock, policies
from portal.api.common import Blueprint, BoundedDate, Money, Text
from portal.domain.inputs import MAX_PRICE
from portal.domain.zones import zone_of
from portal.errors import NotFound
from portal.extensions import db
from portal.models import User
from portal.selectors.services import Offer, offers_of, package_ids_of, service_get, service_rate_on
from portal.selectors.specialists import specialist_get
from portal.services.offerings import service_create, service_update
from portal.web.blueprints import public_read

blp = Blueprint("api_services", __name__, url_prefix="/api/v1",
                description="Services: what a specialist offers, each with its own length and price")


class ServiceSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    specialist_id = ma.fields.UUID(dump_only=True)
    name = Text(required=True, max_length=120)
    description = Text(load_default="", max_length=2000)
    duration_minutes = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=5, max=480))
    price = Money(required=True, minimum=0, maximum=MAX_PRICE)
    currency = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z]{3}$"))
    effective_from = BoundedDate(load_only=True, metadata={"description": "The price applies from this date "
                                                                          "(the specialist's today by default)"})
    is_active = ma.fields.Boolean(dump_only=True)
    is_default = ma.fields.Boolean(dump_only=True)
    package_ids = ma.fields.List(ma.fields.UUID(), load_default=list,
                                 metadata={"description": "Packages that pay for it; none named: every package"})
    location = ma.fields.Raw(load_default=None, metadata={
        "description": 'Where its sessions happen: {"kind": "in_person" | "video" | "phone", "address" '
                       '(in_person), "room_url" (video: a fixed https room; none: a room per booking)}; in person '
                       'by default. room_url is shown to the specialist and admins only'})


class ServicePatchSchema(ServiceSchema):
    class Meta:
        partial = True

    name = Text(max_length=120)
    description = Text(max_length=2000)
    duration_minutes = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=5, max=480))
    price = Money(minimum=0, maximum=MAX_PRICE)
    currency = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Za-z]{3}$"))
    is_active = ma.fields.Boolean()
    is_default = ma.fields.Boolean()
    package_ids = ma.fields.List(ma.fields.UUID())
    location = ma.fields.Raw()


def _dump(offer: Offer) -> dict:
    service, rate = offer.service, offer.rate
    return {"id": service.id, "specialist_id": service.specialist_id, "name": service.name,
            "description": service.description, "is_active": service.is_active, "is_default": service.is_default,
            "duration_minutes": rate and rate.duration_minutes, "price": rate and rate.price,
            "currency": rate and rate.currency, "package_ids": package_ids_of(service.id),
            # A fixed room is a join link: only the specialist and admins read it here.
            "location": {"kind": service.location_kind, "address": service.location_address,
                         "room_url": service.location_room_url if policies.can("update", current_user, service)
                         else None}}


def _specialist(specialist_id) -> User:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return policies.load(User, specialist.id, current_user)


def _today(specialist: User):
    return clock.today(zone_of(specialist).key)


@blp.route("/specialists/<uuid:specialist_id>/services", methods=["GET"])
@public_read
@blp.doc(security=[])
@blp.response(200, ServiceSchema(many=True))
def list_services(specialist_id):
    """The specialist's active services (the default first), at today's length and price; the
    specialist themself and admins see the inactive ones too."""
    specialist = _specialist(specialist_id)
    owner = policies.can("update", current_user, specialist)
    return [_dump(o) for o in offers_of(specialist.id, _today(specialist), active_only=not owner)]


@blp.route("/specialists/<uuid:specialist_id>/services", methods=["POST"])
@blp.arguments(ServiceSchema)
@blp.response(201, ServiceSchema)
def post_service(data, specialist_id):
    """Add a service (the specialist themself or an admin); their first becomes the default."""
    specialist = _specialist(specialist_id)
    service = service_create(actor=current_user, specialist_id=specialist.id, **data)
    db.session.commit()
    return _dump(Offer(service, service_rate_on(service.id, _today(specialist))))


@blp.route("/services/<uuid:service_id>", methods=["PATCH"])
@blp.arguments(ServicePatchSchema)
@blp.response(200, ServiceSchema)
def patch_service(data, service_id):
    """Change a service: a new length or price applies from effective_from (today by default) and
    bookings keep theirs; deactivate (is_active false) rather than delete; is_default true makes
    it the default, used wherever no service is named."""
    if service_get(service_id) is None:
        raise NotFound("No such service.")
    service = service_update(actor=current_user, service_id=service_id, values=data)
    db.session.commit()
    specialist = specialist_get(specialist_id=service.specialist_id)
    return _dump(Offer(service, service_rate_on(service.id, _today(specialist))))
