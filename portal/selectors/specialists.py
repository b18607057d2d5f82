"""Finding specialists and what a patient sees on a specialist's page."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import policies
from portal.domain.inputs import as_uuid
from portal.extensions import db
from portal.models import BookingPackage, Role, Service, SpecialistProfile, User
from portal.selectors.pagination import Pagination, paginate


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def specialist_get(*, specialist_id) -> User | None:
    """The bookable specialist with this id, or None.

    Bookable means an active account with the specialist role and a profile:
    the strictest of the checks the pages, the API and the services each used
    to make on their own, so that none of them books or shows someone another refuses."""
    key = as_uuid(specialist_id)
    # The user and the profile in one query (unless the session holds the user already); the
    # user holds the profile, so the booking rules read next (selectors.booking_rules.booking_rules_of)
    # find it in the session instead of asking again.
    user = db.session.get(User, key, options=[joinedload(User.specialist_profile)]) if key is not None else None
    if user is None or user.role != "specialist" or not user.is_active:
        return None
    return user if user.specialist_profile is not None else None


def specialist_choices(*, limit: int = 500) -> list[tuple]:
    """(id, display_name) of every bookable specialist by name, for a form's select.

    The same rule as specialist_get, so the form offers no one the service would refuse."""
    return list(db.session.execute(
        sa.select(User.id, User.display_name).join(SpecialistProfile, SpecialistProfile.id == User.id)
        .where(User.role == "specialist", User.is_active.is_(True))
        .order_by(User.display_name).limit(limit)))


def specialists_search(*, viewer, q: str = "", page=1, per_page: int = 10) -> Pagination:
    """Active specialists whose name, title or an active service's name contains `q`, and how many
    there are in all."""
    query = (sa.select(User).join(SpecialistProfile, SpecialistProfile.id == User.id)
             .where(User.role == Role.SPECIALIST, User.is_active.is_(True), policies.visible(User, viewer)))
    if q.strip():
        pattern = f"%{escape_like(q.strip())}%"
        offers = sa.select(Service.id).where(Service.specialist_id == User.id, Service.is_active.is_(True),
                                             Service.name.ilike(pattern, escape="\\"))
        query = query.where(sa.or_(User.display_name.ilike(pattern, escape="\\"),
                                   SpecialistProfile.title.ilike(pattern, escape="\\"), offers.exists()))
    return paginate(query.options(joinedload(User.specialist_profile)).order_by(User.display_name, User.id),
                    page=page, per_page=per_page)


def active_packages(*, viewer, specialist_id) -> list[BookingPackage]:
    return list(db.session.scalars(
        sa.select(BookingPackage).where(
            policies.visible(BookingPackage, viewer), BookingPackage.specialist_id == specialist_id,
            BookingPackage.is_active.is_(True),
        ).order_by(BookingPackage.session_count, BookingPackage.name)
    ))


def late_cancel_notice_hours(*, specialist_id) -> int:
    """The specialist's late-cancellation notice window in hours (0: no window)."""
    hours = db.session.scalar(sa.select(SpecialistProfile.late_cancel_notice_hours)
                              .where(SpecialistProfile.id == specialist_id))
    return 24 if hours is None else hours
