"""Reads of booking packages, scoped through policies.PackagePolicy."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from portal import clock
from portal.domain.inputs import CENTS
from portal.extensions import db
from portal.models import BookingPackage, SpecialistProfile, User
from portal.policies import visible
from portal.selectors.availability import rate_on
from portal.selectors.pagination import Pagination, paginate


@dataclass(frozen=True)
class PackagePricing:
    """What one session of a package costs and how it compares with the current rate."""

    per_session: Decimal
    rate_price: Decimal | None
    rate_currency: str | None
    saving: Decimal | None          # per package, against session_count x rate
    saving_percent: Decimal | None

    @property
    def comparable(self) -> bool:
        return self.saving is not None


def package_pricing(package: BookingPackage, rate=None) -> PackagePricing:
    per_session = (Decimal(package.price) / package.session_count).quantize(CENTS, ROUND_HALF_UP)
    if rate is None or rate.currency != package.currency:
        return PackagePricing(per_session, getattr(rate, "price", None), getattr(rate, "currency", None),
                              None, None)
    full = Decimal(rate.price) * package.session_count
    saving = (full - Decimal(package.price)).quantize(CENTS)
    percent = (saving * 100 / full).quantize(Decimal("0.1"), ROUND_HALF_UP) if full else None
    return PackagePricing(per_session, Decimal(rate.price), rate.currency, saving, percent)


def discount_from_price(*, specialist_id: uuid.UUID, price, session_count: int, currency: str) -> Decimal | None:
    """The discount a price gives against `session_count` single sessions at the specialist's
    rate today, as the pages show it (one decimal, 0 to 100), or None without a rate in `currency`."""
    rate = rate_on(specialist_id, clock.today())
    if rate is None or rate.currency != currency or not rate.price or not session_count:
        return None
    full = Decimal(rate.price) * session_count
    percent = ((full - Decimal(price)) * 100 / full).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return min(max(percent, Decimal(0)), Decimal(100))


def pricing_for(packages: list[BookingPackage]) -> dict[uuid.UUID, PackagePricing]:
    """Pricing per package id, looking up each specialist's current rate once."""
    today = clock.today()
    rates = {sid: rate_on(sid, today) for sid in {p.specialist_id for p in packages}}
    return {p.id: package_pricing(p, rates[p.specialist_id]) for p in packages}


def packages_active_for(specialist_id: uuid.UUID) -> list[BookingPackage]:
    """The packages a patient may buy from this specialist, cheapest per session first."""
    return list(db.session.scalars(
        sa.select(BookingPackage)
        .where(BookingPackage.specialist_id == specialist_id, BookingPackage.is_active.is_(True))
        .order_by(BookingPackage.session_count, BookingPackage.created_at)
    ))


def packages_visible(*, user, specialist_id: uuid.UUID | None = None, is_active: bool | None = None,
                     page=1, per_page: int = 50) -> Pagination:
    """One page of the packages the user may see (newest first) and the total count."""
    where = [visible(BookingPackage, user)]
    if specialist_id is not None:
        where.append(BookingPackage.specialist_id == specialist_id)
    if is_active is not None:
        where.append(BookingPackage.is_active.is_(is_active))
    return paginate(sa.select(BookingPackage).where(*where)
                    .order_by(BookingPackage.created_at.desc(), BookingPackage.id),
                    page=page, per_page=per_page)


def packages_of(specialist_id: uuid.UUID) -> list[BookingPackage]:
    """All of a specialist's packages, active first (for their own management page)."""
    return list(db.session.scalars(
        sa.select(BookingPackage).where(BookingPackage.specialist_id == specialist_id)
        .order_by(BookingPackage.is_active.desc(), BookingPackage.created_at.desc())
    ))


def packages_all(*, viewer) -> list[BookingPackage]:
    """Every package the viewer may see, newest first (the admin page: all of them)."""
    return list(db.session.scalars(
        sa.select(BookingPackage).where(visible(BookingPackage, viewer)).order_by(BookingPackage.created_at.desc())
    ))


def specialist_names() -> dict[uuid.UUID, str]:
    """Every specialist's display name by id (the admin page's filter and columns)."""
    rows = db.session.execute(
        sa.select(User.id, User.display_name).join(SpecialistProfile, SpecialistProfile.id == User.id)
        .order_by(User.display_name)
    )
    return {row.id: row.display_name for row in rows}


def package_pricing_now(package: BookingPackage) -> PackagePricing:
    """Pricing against the specialist's rate today (templates: `package_pricing(p)`)."""
    return package_pricing(package, rate_on(package.specialist_id, clock.today()))
