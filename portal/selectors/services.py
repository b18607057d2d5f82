"""What a specialist offers: their services, each with the length and price current on a date."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.models import PackageService, Service, SpecialistRate


@dataclass(frozen=True)
class Offer:
    """A service with its length and price on a date (None: no price set from that date yet)."""

    service: Service
    rate: SpecialistRate | None

    @property
    def duration_minutes(self) -> int | None:
        return self.rate.duration_minutes if self.rate else None


def service_get(service_id: uuid.UUID) -> Service | None:
    return db.session.get(Service, service_id)


def default_service_of(specialist_id: uuid.UUID) -> Service | None:
    return db.session.scalar(sa.select(Service).where(Service.specialist_id == specialist_id,
                                                      Service.is_default.is_(True)))


def service_rate_on(service_id: uuid.UUID, on: date) -> SpecialistRate | None:
    """The service's length and price current on `on`: the latest effective_from not after it."""
    return db.session.scalar(
        sa.select(SpecialistRate)
        .where(SpecialistRate.service_id == service_id, SpecialistRate.effective_from <= on)
        .order_by(SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc())
        .limit(1)
    )


def _with_current_rates(specialist_id: uuid.UUID, on: date) -> sa.Select:
    """The specialist's services, each beside its rate current on `on` (None before its first):
    each service's newest row from `on` back, picked in the same query."""
    newest = sa.func.row_number().over(partition_by=SpecialistRate.service_id, order_by=(
        SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc()))
    current = (sa.select(SpecialistRate.id, SpecialistRate.service_id, newest.label("newest"))
               .where(SpecialistRate.specialist_id == specialist_id, SpecialistRate.effective_from <= on)
               .subquery())
    return (sa.select(Service, SpecialistRate)
            .outerjoin(current, sa.and_(current.c.service_id == Service.id, current.c.newest == 1))
            .outerjoin(SpecialistRate, SpecialistRate.id == current.c.id)
            .where(Service.specialist_id == specialist_id))


def offers_of(specialist_id: uuid.UUID, on: date, *, active_only: bool = True) -> list[Offer]:
    """The specialist's services (the default first, then by name) with what they cost on `on`."""
    query = _with_current_rates(specialist_id, on)
    if active_only:
        query = query.where(Service.is_active.is_(True))
    rows = db.session.execute(query.order_by(Service.is_default.desc(), Service.name, Service.id))
    return [Offer(service, rate) for service, rate in rows]


def package_ids_of(service_id: uuid.UUID) -> list[uuid.UUID]:
    return list(db.session.scalars(sa.select(PackageService.package_id).where(PackageService.service_id == service_id)))


def package_covers(package_id: uuid.UUID | None, service_id: uuid.UUID | None) -> bool:
    """A package naming no service pays for all of its specialist's services."""
    if package_id is None or service_id is None:
        return True
    named = set(db.session.scalars(sa.select(PackageService.service_id).where(PackageService.package_id == package_id)))
    return not named or service_id in named


def package_service_names(package_id: uuid.UUID) -> list[str]:
    """The names of the services a package pays for; empty when it pays for all of them."""
    return list(db.session.scalars(
        sa.select(Service.name).join(PackageService, PackageService.service_id == Service.id)
        .where(PackageService.package_id == package_id).order_by(Service.name)))


def grid_default_minutes(specialist_id: uuid.UUID, on: date) -> int:
    """The shortest active service's length rounded up to 15 minutes, at most 60 (60 without one).

    One query: the active services' history up to `on`, newest first; the first row of each
    service is its length that day."""
    rows = db.session.execute(
        sa.select(SpecialistRate.service_id, SpecialistRate.duration_minutes)
        .join(Service, Service.id == SpecialistRate.service_id)
        .where(Service.specialist_id == specialist_id, Service.is_active.is_(True),
               SpecialistRate.effective_from <= on)
        .order_by(SpecialistRate.effective_from.desc(), SpecialistRate.created_at.desc())
    )
    current: dict[uuid.UUID, int] = {}
    for service_id, minutes in rows:
        current.setdefault(service_id, minutes)
    return _grid_of(current.values())


def grid_minutes_of(offers: list[Offer]) -> int:
    """grid_default_minutes from offers already read for that day (offers_of)."""
    return _grid_of(o.rate.duration_minutes for o in offers if o.service.is_active and o.rate is not None)


def _grid_of(lengths) -> int:
    lengths = list(lengths)
    return min(60, -(-min(lengths) // 15) * 15) if lengths else 60


@dataclass(frozen=True)
class ServiceDay:
    """What booking a service on a day needs, read at once: the service (None when the
    specialist has no such one), its rate that day (None: no price from that day yet), and the
    default grid their active services give that day (grid_default_minutes)."""

    service: Service | None
    rate: SpecialistRate | None
    grid_minutes: int


def service_day(specialist_id: uuid.UUID, on: date, service_id: uuid.UUID | None = None) -> ServiceDay:
    """The service (the default one when None) with its rate on `on`, and the default grid: one
    query for what service_get / default_service_of, service_rate_on and grid_default_minutes
    read one by one. Each service's rate that day is its newest row from `on` back."""
    booked = Service.id == service_id if service_id is not None else Service.is_default.is_(True)
    rows = db.session.execute(
        _with_current_rates(specialist_id, on).where(sa.or_(Service.is_active.is_(True), booked))).all()
    chosen = next(((service, rate) for service, rate in rows
                   if (service.id == service_id if service_id is not None else service.is_default)), (None, None))
    grid = _grid_of(rate.duration_minutes for service, rate in rows if service.is_active and rate is not None)
    return ServiceDay(chosen[0], chosen[1], grid)
