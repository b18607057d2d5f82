"""Administering accounts: role changes and (de)activation, each audited.

Deactivating is how an account ends: the user can no longer sign in, their
session stops loading (portal/auth/loading.py) and their API tokens stop
working (services/users.api_token_user checks is_active). Reactivating
restores all of it; tokens the user wants gone are revoked separately."""
from __future__ import annotations

import sqlalchemy as sa

from portal import policies
from portal.extensions import db
from portal.models import ROLES, SpecialistProfile, User
from portal.selectors.pagination import Pagination, paginate
from portal.services import Forbidden, ServiceError, load_visible
from portal.services.audit import audit_record

PAGE_SIZE = 25


def _load_user(actor, user_id) -> User:
    user = load_visible(User, user_id, actor, "user")
    if not policies.is_admin(actor) or not policies.can("update", actor, user):
        raise Forbidden("Only administrators manage accounts.")
    return user


def user_set_role(*, actor: User, user_id, role: str) -> User:
    """Give a user another role; a new specialist gets an (empty) profile."""
    user = _load_user(actor, user_id)
    if role not in ROLES:
        raise ServiceError("Unknown role.", fields={"role": f"Choose one of {', '.join(ROLES)}."})
    if user.id == actor.id:
        raise Forbidden("You cannot change your own role; ask another administrator.", code="SELF_CHANGE")
    if role == user.role:
        return user
    old = user.role
    user.role = role
    if role == "specialist" and db.session.get(SpecialistProfile, user.id) is None:
        db.session.add(SpecialistProfile(id=user.id))
    db.session.flush()
    audit_record(actor=actor, action="user_role_changed", entity_type="user", entity_id=user.id,
                 old_values={"role": old}, new_values={"role": role})
    return user


def user_set_active(*, actor: User, user_id, active: bool) -> User:
    """Deactivate or reactivate an account."""
    user = _load_user(actor, user_id)
    if user.id == actor.id and not active:
        raise Forbidden("You cannot deactivate your own account.", code="SELF_CHANGE")
    if user.is_active == active:
        return user
    user.is_active = active
    db.session.flush()
    audit_record(actor=actor, action="user_activated" if active else "user_deactivated",
                 entity_type="user", entity_id=user.id,
                 old_values={"is_active": not active}, new_values={"is_active": active})
    return user


def users_search(*, actor: User, query: str = "", role: str | None = None, page=1,
                 per_page: int = PAGE_SIZE) -> Pagination:
    """Users visible to the actor whose e-mail or name contains `query`, and the total."""
    where = [policies.visible(User, actor)]
    if query:
        pattern = f"%{query.strip().lower()}%"
        where.append(sa.or_(User.email_normalized.like(pattern), sa.func.lower(User.display_name).like(pattern)))
    if role in ROLES:
        where.append(User.role == role)
    return paginate(sa.select(User).where(*where).order_by(User.display_name, User.id),
                    page=page, per_page=per_page)
