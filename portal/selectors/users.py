"""Reads of user accounts, scoped through policies.UserPolicy."""
from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from portal import policies
from portal.domain.inputs import as_uuid
from portal.extensions import db
from portal.models import ROLES, ApiToken, Booking, Role, User
from portal.selectors.pagination import paginate

PAGE_SIZE = 25


def user_get(*, user_id) -> User | None:
    """The account with this id, whoever asks: signing in reads it before anyone is signed in."""
    key = as_uuid(user_id)
    return db.session.get(User, key) if key is not None else None


def patient_get(*, patient_id) -> User | None:
    """An active patient account by id, for staff who book clients in (policies.may_book_for_others
    decides who may ask; a specialist books patients who have never booked with them too)."""
    key = as_uuid(patient_id)
    user = db.session.get(User, key) if key is not None else None
    return user if user is not None and user.role == Role.PATIENT and user.is_active else None


def users_search(*, actor: User, query: str = "", role: str | None = None, page: int = 1,
                 per_page: int = PAGE_SIZE) -> Pagination:
    """One page of the users visible to the actor whose e-mail or name contains `query`."""
    where = [policies.visible(User, actor)]
    if query:
        pattern = f"%{query.strip().lower()}%"
        where.append(sa.or_(User.email_normalized.like(pattern), sa.func.lower(User.display_name).like(pattern)))
    if role in ROLES:
        where.append(User.role == role)
    return paginate(sa.select(User).where(*where).order_by(User.display_name, User.id),
                    page=page, per_page=per_page)


def api_tokens_of(*, actor: User, user: User) -> list[ApiToken]:
    """`user`'s tokens that the actor may see (their own, or anyone's for an admin), newest first."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(policies.visible(ApiToken, actor), ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)))


def patients_for_booking(*, actor: User, query: str = "", limit: int = 20) -> list[User]:
    """Active patients staff may book, by name, whose name or e-mail contains `query`: every one for
    an admin; for a specialist those who have booked with them, then anyone whose e-mail is exactly
    `query` (a new client gives theirs on the phone)."""
    text = query.strip().lower()
    where = [User.role == Role.PATIENT, User.is_active.is_(True)]
    if text:
        pattern = f"%{text}%"
        where.append(sa.or_(User.email_normalized.like(pattern), sa.func.lower(User.display_name).like(pattern)))
    if actor.role == Role.SPECIALIST:
        seen = sa.select(Booking.patient_id).where(Booking.specialist_id == actor.id)
        where.append(User.id.in_(seen))
    found = list(db.session.scalars(sa.select(User).where(*where).order_by(User.display_name, User.id).limit(limit)))
    if actor.role == Role.SPECIALIST and "@" in text:
        exact = db.session.scalar(sa.select(User).where(User.email_normalized == text, User.role == Role.PATIENT,
                                                        User.is_active.is_(True)))
        if exact is not None and exact not in found:
            found.append(exact)
    return found
