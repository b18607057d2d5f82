"""Finding specialists and what a patient sees on a specialist's page."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import policies
from portal.extensions import db
from portal.models import BookingPackage, Role, SpecialistProfile, User


def specialists_search(*, viewer, q: str = "", page: int = 1, per_page: int = 10) -> tuple[list[User], int]:
    """Active specialists whose name contains `q`, and how many there are in all."""
    query = (sa.select(User).join(SpecialistProfile, SpecialistProfile.id == User.id)
             .where(User.role == Role.SPECIALIST, User.is_active.is_(True), policies.visible(User, viewer)))
    if q.strip():
        query = query.where(User.display_name.ilike(f"%{q.strip()}%"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(joinedload(User.specialist_profile))
                              .order_by(User.display_name, User.id).limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def active_packages(*, viewer, specialist_id) -> list[BookingPackage]:
    return list(db.session.scalars(
        sa.select(BookingPackage).where(
            policies.visible(BookingPackage, viewer), BookingPackage.specialist_id == specialist_id,
            BookingPackage.is_active.is_(True),
        ).order_by(BookingPackage.session_count, BookingPackage.name)
    ))
