"""Administering accounts: role changes and (de)activation, each audited.

Deactivating is how an account ends: the user can no longer sign in, their
session stops loading (portal/auth/loading.py) and their API tokens are
revoked for good. Reactivating lets them sign in again (with new sessions
and new tokens); nothing issued before the deactivation comes back."""
from __future__ import annotations

from portal import policies
from portal.errors import Forbidden, ServiceError
from portal.extensions import db
from portal.models import ROLES, Role, SpecialistProfile, User
from portal.services.audit import audit_record
from portal.services.users import api_tokens_revoke_all, user_end_sessions


def _load_user(actor, user_id) -> User:
    user = policies.load(User, user_id, actor, missing="No such user.")
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
    if role == Role.SPECIALIST and db.session.get(SpecialistProfile, user.id) is None:
        db.session.add(SpecialistProfile(id=user.id))
    db.session.flush()
    audit_record(actor=actor, action="user_role_changed", entity_type="user", entity_id=user.id,
                 old_values={"role": old}, new_values={"role": role})
    return user


def user_sign_out_everywhere(*, actor: User, user_id) -> User:
    """An administrator ends every session and remember-me cookie of an account."""
    user = _load_user(actor, user_id)
    user_end_sessions(user=user, actor=actor)
    return user


def user_set_active(*, actor: User, user_id, active: bool) -> User:
    """Deactivate or reactivate an account."""
    user = _load_user(actor, user_id)
    if user.id == actor.id and not active:
        raise Forbidden("You cannot deactivate your own account.", code="SELF_CHANGE")
    if user.is_active == active:
        return user
    user.is_active = active
    if not active:
        user_end_sessions(user=user, actor=actor, reason="deactivated")
        api_tokens_revoke_all(user=user, actor=actor, reason="deactivated")
    db.session.flush()
    audit_record(actor=actor, action="user_activated" if active else "user_deactivated",
                 entity_type="user", entity_id=user.id,
                 old_values={"is_active": not active}, new_values={"is_active": active})
    return user
