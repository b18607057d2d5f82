"""Accounts, passwords and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from portal import policies
from portal.domain.passwords import password_problem
from portal.errors import Conflict, ServiceError
from portal.extensions import db
from portal.models import ROLES, ApiToken, Role, SpecialistProfile, User, utcnow
from portal.services.audit import audit_record

# last_used_at is written at most this often per token: a busy client must not write on every call.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650

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
                timezone: str = "UTC", actor=None, title: str = "", bio: str = "",
                email_confirmed: bool = True) -> User:
    """A new account. Only self-service sign-up leaves the address unconfirmed: an admin's or the
    command line's account, and an invitation (its link went to the address), count as confirmed."""
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
        email_confirmed_at=utcnow() if email_confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.SPECIALIST:
        db.session.add(SpecialistProfile(id=user.id, title=title, bio=bio))
    audit_record(actor=actor, action="user_created", entity_type="user", entity_id=user.id,
                 new_values={"role": role, "timezone": timezone})
    return user


def user_authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None. A hash made by an older
    scheme is replaced by one of the current scheme (the caller commits).

    An unknown address and an account with no password yet (invited, link not followed)
    are checked against a dummy hash: every refusal costs one hash, whoever was tried."""
    user = user_by_email(email)
    if user is None or not _is_password_hash(user.password_hash):
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    if _hash_method(user.password_hash) != _current_hash_method():
        user.password_hash = generate_password_hash(password)
    return user


def _is_password_hash(stored: str | None) -> bool:
    """Whether `stored` is a hash a password can match (an invitation's placeholder is not)."""
    return bool(stored) and "$" in stored


def password_hash_spent(password: str) -> None:
    """Hash `password` and throw the hash away, for a path that has no account to store it on
    (sign-up with a taken address): it answers as slowly as the path that creates an account."""
    generate_password_hash(password or "")


def _hash_method(password_hash: str) -> str:
    return password_hash.split("$", 1)[0]


@cache
def _current_hash_method() -> str:
    return _hash_method(generate_password_hash("probe"))


def check_new_password(password: str, *, email: str, field: str = "password") -> None:
    """ServiceError naming `field` when the password breaks the rules (portal.domain.passwords)."""
    problem = password_problem(password, email=email)
    if problem:
        raise ServiceError(problem, fields={field: problem})


def user_end_sessions(*, user: User, actor=None, reason: str = "sign_out_everywhere") -> None:
    """Every session and remember-me cookie issued to `user` so far stops working."""
    user.session_version = (user.session_version or 1) + 1
    db.session.flush()
    audit_record(actor=actor or user, action="sessions_ended", entity_type="user", entity_id=user.id,
                 new_values={"reason": reason})


def password_set(*, user: User, password: str, actor=None, reason: str = "password_changed") -> User:
    """A new password (checked against the rules); every older session and API token ends."""
    check_new_password(password, email=user.email)
    user.password_hash = generate_password_hash(password)
    user_end_sessions(user=user, actor=actor or user, reason=reason)
    api_tokens_revoke_all(user=user, actor=actor or user, reason=reason)
    audit_record(actor=actor or user, action=reason, entity_type="user", entity_id=user.id)
    return user


def password_change(*, user: User, current_password: str, new_password: str) -> User:
    """The owner's change: the current password is required."""
    if not check_password_hash(user.password_hash, current_password or ""):
        raise ServiceError("The current password is not right.",
                           fields={"current_password": "The current password is not right."})
    if new_password == current_password:
        raise ServiceError("Choose a password you have not used here.",
                           fields={"new_password": "This is your current password."})
    check_new_password(new_password, email=user.email, field="new_password")
    return password_set(user=user, password=new_password)


def account_update(*, user: User, display_name: str, timezone: str, reminders_enabled: bool | None = None) -> User:
    """The owner's name, time zone and (when given) whether reminder e-mails come."""
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 120:
        raise ServiceError("Enter your name (up to 120 characters).", fields={"display_name": "Enter your name."})
    validate_timezone(timezone)
    old = {"timezone": user.timezone}
    user.display_name, user.timezone = display_name, timezone
    db.session.flush()
    audit_record(actor=user, action="account_updated", entity_type="user", entity_id=user.id,
                 old_values=old, new_values={"timezone": timezone})
    if reminders_enabled is not None:
        from portal.services.reminders import reminders_set

        reminders_set(actor=user, user=user, enabled=reminders_enabled)
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_expiry(expires_days) -> timedelta | None:
    if expires_days in (None, ""):
        return None
    try:
        days = int(expires_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_TOKEN_DAYS:
        message = f"Expiry is a whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty for none."
        raise ServiceError(message, fields={"expires_days": message})
    return timedelta(days=days)


def api_token_create(*, user: User, name: str = "", actor=None, expires_days: int | str | None = None) -> str:
    """A new bearer token for `user`, optionally expiring after `expires_days`.
    Only its digest is stored: show it once."""
    name = (name or "").strip()
    if len(name) > 120:
        raise ServiceError("Names have at most 120 characters.", fields={"name": "Too long."})
    expiry = _token_expiry(expires_days)
    token = "cp_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_digest(token), name=name,
                   expires_at=utcnow() + expiry if expiry else None)
    db.session.add(row)
    db.session.flush()
    audit_record(actor=actor or user, action="api_token_created", entity_type="api_token",
                 entity_id=row.id, new_values={"user_id": user.id, "name": name,
                                               "expires_at": row.expires_at})
    return token


def api_token_find(token: str) -> ApiToken | None:
    """The live (not revoked, not expired) token row of an active user, or None. Reads only."""
    if not token:
        return None
    # The token and its user in one query: every API request asks.
    row = db.session.scalar(sa.select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.token_hash == _token_digest(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row


def api_token_use_due(row: ApiToken) -> bool:
    """Whether the token's last_used_at is older than its resolution (a minute): a busy client
    must not write on every call."""
    return row.last_used_at is None or utcnow() - row.last_used_at >= TOKEN_USE_RESOLUTION


def api_token_note_use(*, token_id) -> None:
    """Note a token's use now, unless another request noted it within the resolution meanwhile.
    Flushes; the caller commits."""
    now = utcnow()
    db.session.execute(sa.update(ApiToken).where(
        ApiToken.id == token_id,
        sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_RESOLUTION),
    ).values(last_used_at=now))


def api_token_revoke(*, token_id, actor) -> ApiToken:
    """Revoke a token: its owner's own, or anyone's for an administrator."""
    row = policies.load(ApiToken, token_id, actor, action="delete", missing="No such token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit_record(actor=actor, action="api_token_revoked", entity_type="api_token", entity_id=row.id)
    return row


def api_tokens_revoke_all(*, user: User, actor: User, reason: str) -> int:
    """Revoke every live token of `user` (a new password, a deactivation): one audit row names
    the reason. The callers have already decided `actor` may do this. How many."""
    revoked = db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch")).rowcount
    if revoked:
        audit_record(actor=actor, action="api_tokens_revoked", entity_type="user", entity_id=user.id,
                     new_values={"reason": reason, "count": revoked})
    return revoked


def api_tokens_revoke_named(*, user: User, name: str | None, actor=None) -> int:
    """Revoke `user`'s live tokens called `name` (every live one when name is None); how many."""
    where = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)]
    if name is not None:
        where.append(ApiToken.name == name)
    rows = db.session.scalars(sa.select(ApiToken).where(*where)).all()
    for row in rows:
        api_token_revoke(token_id=row.id, actor=actor or user)
    return len(rows)
