"""Accounts, passwords and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import ROLES, ApiToken, Role, SpecialistProfile, User, utcnow
from portal.services import Conflict, ServiceError
from portal.services.audit import audit_record

# A well-formed hash that matches nothing: unknown e-mails cost as much time as wrong passwords.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ServiceError(f"Unknown time zone {name!r}.", fields={"timezone": "Unknown time zone."}) from error
    return name


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email_normalized == normalize_email(email)))


def user_create(*, email: str, password: str, role: str, display_name: str | None = None,
                timezone: str = "UTC", actor=None, title: str = "", bio: str = "") -> User:
    email = (email or "").strip()
    if "@" not in email or len(email) > 320:
        raise ServiceError("Enter a valid e-mail address.", fields={"email": "Invalid e-mail address."})
    if role not in ROLES:
        raise ServiceError(f"Role must be one of {', '.join(ROLES)}.", fields={"role": "Unknown role."})
    if len(password or "") < 8:
        raise ServiceError("Passwords have at least 8 characters.", fields={"password": "Too short."})
    validate_timezone(timezone)
    if user_by_email(email) is not None:
        raise Conflict("An account with this e-mail already exists.", code="EMAIL_TAKEN",
                       fields={"email": "Already registered."})
    user = User(
        email=email, email_normalized=normalize_email(email), role=role,
        password_hash=generate_password_hash(password),
        display_name=(display_name or email.split("@")[0]).strip(), timezone=timezone,
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.SPECIALIST:
        db.session.add(SpecialistProfile(id=user.id, title=title, bio=bio))
    audit_record(actor=actor, action="user_created", entity_type="user", entity_id=user.id,
                 new_values={"role": role, "timezone": timezone})
    return user


def user_authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: User, name: str = "", actor=None) -> str:
    """A new bearer token for `user`. Only its digest is stored: show it once."""
    token = "cp_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_digest(token), name=name)
    db.session.add(row)
    db.session.flush()
    audit_record(actor=actor or user, action="api_token_created", entity_type="api_token",
                 entity_id=row.id, new_values={"user_id": user.id, "name": name})
    return token


def api_token_user(token: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not token:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    return row.user


def api_token_revoke(*, token_id, actor) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise ServiceError("No such token.", code="NOT_FOUND", http_status=404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit_record(actor=actor, action="api_token_revoked", entity_type="api_token", entity_id=row.id)
    return row
