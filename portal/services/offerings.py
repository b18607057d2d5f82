"""What a specialist offers: adding and changing services.

A service's length and price are rows of its history (specialist_rates): a change
applies from its date, bookings keep the price they were made at. A service once
booked is deactivated rather than deleted; the default one stays active."""
from __future__ import annotations

import logging
import uuid
from datetime import date

import sqlalchemy as sa

from portal import clock, policies
from portal.domain.meetings import Invalid, clean_location
from portal.domain.zones import zone_of
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import BookingPackage, PackageService, Service, User
from portal.selectors.services import default_service_of, package_ids_of
from portal.selectors.specialists import specialist_get
from portal.services.audit import audit_record
from portal.services.hours import rate_add

log = logging.getLogger(__name__)

REFUSED = "Only the specialist or an admin may change their services."


def _name(name) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ServiceError("Give the service a name.", fields={"name": "1 to 120 characters."})
    return name


def _set_location(service: Service, value) -> None:
    try:
        location = clean_location(value)
    except Invalid as why:
        raise ServiceError("Say where the sessions happen.", fields=why.fields) from None
    service.location_kind = location["kind"]
    service.location_address = location["address"]
    service.location_room_url = location["room_url"]


def _packages(specialist_id: uuid.UUID, package_ids) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(package_ids or []))
    found = set(db.session.scalars(sa.select(BookingPackage.id).where(
        BookingPackage.specialist_id == specialist_id, BookingPackage.id.in_(ids)))) if ids else set()
    if found != set(ids):
        raise ServiceError("Name only this specialist's packages.", fields={"package_ids": "Unknown package."})
    return ids


def _set_packages(service: Service, package_ids: list[uuid.UUID]) -> None:
    db.session.execute(sa.delete(PackageService).where(PackageService.service_id == service.id))
    db.session.add_all(PackageService(package_id=p, service_id=service.id) for p in package_ids)


def service_create(*, actor: User, specialist_id, name: str, duration_minutes: int, price, currency: str,
                   description: str = "", effective_from: date | None = None,
                   package_ids=None, location: dict | None = None) -> Service:
    """A new active service; the specialist's first becomes their default. `location`: where its
    sessions happen ({"kind", "address", "room_url"}; in person by default)."""
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    policies.load(User, specialist.id, actor)
    service = Service(specialist_id=specialist.id, name=_name(name), description=(description or "")[:2000],
                      is_active=True, is_default=default_service_of(specialist.id) is None)
    if not policies.can("create", actor, service):
        raise Forbidden(REFUSED)
    packages = _packages(specialist.id, package_ids)
    if location is not None:
        _set_location(service, location)
    db.session.add(service)
    db.session.flush()
    rate_add(actor=actor, specialist_id=specialist.id, service_id=service.id, duration_minutes=duration_minutes,
             price=price, currency=currency, effective_from=effective_from or clock.today(zone_of(specialist).key))
    _set_packages(service, packages)
    db.session.flush()
    audit_record(actor=actor, action="service_created", entity_type="service", entity_id=service.id,
                 new_values={"specialist_id": specialist.id, "name": service.name, "package_ids": packages,
                             "location_kind": service.location_kind or "in_person"})
    log.info("service %s added for %s by %s", service.id, specialist.id, actor.id)
    return service


def service_update(*, actor: User, service_id: uuid.UUID, values: dict) -> Service:
    """Change a service: name, description, is_active, is_default, package_ids, location; a new length or
    price (duration_minutes, price, currency, from effective_from, today by default)."""
    service = policies.load(Service, service_id, actor, action="update", missing="No such service.",
                            refused=REFUSED)
    old = {"name": service.name, "is_active": service.is_active, "is_default": service.is_default,
           "location_kind": service.location_kind}
    if "name" in values:
        service.name = _name(values["name"])
    if "description" in values:
        service.description = (values["description"] or "")[:2000]
    if values.get("is_default") is True and not service.is_default:
        _make_default(service)
    if values.get("is_active") is False and service.is_default:
        raise Conflict("The default service stays active: make another the default first.",
                       code="DEFAULT_SERVICE")
    if "is_active" in values:
        service.is_active = bool(values["is_active"]) or service.is_default
    if "location" in values:
        _set_location(service, values["location"])
    if "package_ids" in values:
        _set_packages(service, _packages(service.specialist_id, values["package_ids"]))
    if {"duration_minutes", "price", "currency"} & values.keys():
        _new_price(actor, service, values)
    db.session.flush()
    audit_record(actor=actor, action="service_updated", entity_type="service", entity_id=service.id,
                 old_values=old, new_values={"name": service.name, "is_active": service.is_active,
                                             "is_default": service.is_default,
                                             "location_kind": service.location_kind,
                                             "package_ids": package_ids_of(service.id)})
    return service


def _make_default(service: Service) -> None:
    current = default_service_of(service.specialist_id)
    if current is not None:
        current.is_default = False
        db.session.flush()  # the partial unique index allows one default at a time
    service.is_active = True
    service.is_default = True


def _new_price(actor: User, service: Service, values: dict) -> None:
    from portal.selectors.services import service_rate_on

    specialist = specialist_get(specialist_id=service.specialist_id)
    today = clock.today(zone_of(specialist).key)
    current = service_rate_on(service.id, values.get("effective_from") or today)
    missing = [k for k in ("duration_minutes", "price", "currency") if k not in values and current is None]
    if missing:
        raise ServiceError("Give the length, price and currency.", fields={k: "Required." for k in missing})
    rate_add(actor=actor, specialist_id=service.specialist_id, service_id=service.id,
             duration_minutes=values.get("duration_minutes", current and current.duration_minutes),
             price=values.get("price", current and current.price),
             currency=values.get("currency", current and current.currency),
             effective_from=values.get("effective_from") or today)
