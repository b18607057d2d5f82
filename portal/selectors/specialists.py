"""Finding specialists and what a patient sees on a specialist's page."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import policies
from portal.extensions import db
from portal.models import BookingPackage, SpecialistProfile, User
from portal.selectors.pagination import Pagination, paginate


def specialists_search(*, viewer, q: str = "", page=1, per_page: int = 10) -> Pagination:
    """Active specialists whose name contains `q`, and how many there are in all."""
    query = (sa.select(User).join(SpecialistProfile, SpecialistProfile.id == User.id)
             .where(User.role == "specialist", User.is_active.is_(True), policies.visible(User, viewer)))
    if q.strip():
        query = query.where(User.display_name.ilike(f"%{q.strip()}%"))
    return paginate(query.options(joinedload(User.specialist_profile)).order_by(User.display_name, User.id),
                    page=page, per_page=per_page)


def active_packages(*, viewer, specialist_id) -> list[BookingPackage]:
    return list(db.session.scalars(
        sa.select(BookingPackage).where(
            policies.visible(BookingPackage, viewer), BookingPackage.specialist_id == specialist_id,
            BookingPackage.is_active.is_(True),
        ).order_by(BookingPackage.session_count, BookingPackage.name)
    ))
