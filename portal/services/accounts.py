"""Self-service accounts: sign-up with a confirmed address, invitations, forgotten passwords.

No answer here tells a visitor whether an address has an account: sign-up with a taken address
and a reset for an unknown one look the same to the visitor (the owner of a taken address is
told by e-mail instead). Every message goes through the outbox (portal.services.outbox)."""
from __future__ import annotations

import secrets
import time

from portal import clock
from portal.errors import Conflict, ServiceError
from portal.extensions import db
from portal.models import ROLES, Role, User
from portal.services import account_mail  # noqa: F401  (registers the message types)
from portal.services.audit import audit_record
from portal.services.outbox import outbox_add
from portal.services.users import (
    check_new_password,
    password_hash_spent,
    password_set,
    user_by_email,
    user_create,
)

# One message of a kind per address in this many seconds: a form cannot be used to flood an inbox.
MAIL_WINDOW_SECONDS = 300
# Matches no password: an invited account has none until its owner follows the link.
UNUSABLE_PREFIX = "!invited-"  # no "$": werkzeug reads it as no hash at all


def _window() -> int:
    return int(time.time() // MAIL_WINDOW_SECONDS)


def account_signup(*, email: str, password: str, display_name: str, timezone: str,
                   return_to: str | None = None) -> User | None:
    """A patient's own account, usable at once, with a confirmation link on its way; None (and a
    note to the owner) when the address is taken. `return_to`, a same-site path the caller has
    checked (a chosen time's review), is where the confirmation link leads on to."""
    check_new_password(password, email=email)
    existing = user_by_email(email)
    if existing is not None:
        password_hash_spent(password)  # as long as creating the account takes: timing tells nothing
        outbox_add(recipient=existing, template="account_exists", about={"user_id": existing.id},
                   dedup_key=f"account_exists:{existing.id}:{_window()}")
        return None
    user = user_create(email=email, password=password, role=Role.PATIENT, display_name=display_name,
                       timezone=timezone, email_confirmed=False)
    _send_confirmation(user, return_to)
    return user


def _send_confirmation(user: User, return_to: str | None = None) -> None:
    about = {"user_id": user.id, **({"next": return_to} if return_to else {})}
    outbox_add(recipient=user, template="account_confirm", about=about,
               dedup_key=f"account_confirm:{user.id}:{_window()}")


def account_confirmation_resend(*, user: User) -> None:
    if user.email_confirmed_at is None:
        _send_confirmation(user)


def account_confirm(*, user: User) -> User:
    """Mark the address confirmed (the link proved it); confirming twice changes nothing."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = clock.now()
        db.session.flush()
        audit_record(actor=user, action="email_confirmed", entity_type="user", entity_id=user.id)
    return user


def account_invite(*, actor: User, email: str, display_name: str, role: str, timezone: str = "UTC",
                   title: str = "") -> User:
    """An account with no password yet, and a single-use 7-day link to set one. Admins only."""
    if actor is None or actor.role != Role.ADMIN:
        raise ServiceError("Only administrators invite people.", code="FORBIDDEN", http_status=403)
    if role not in ROLES:
        raise ServiceError("Unknown role.", fields={"role": f"Choose one of {', '.join(ROLES)}."})
    if not (display_name or "").strip():
        raise ServiceError("Enter the person's name.", fields={"display_name": "Enter the person's name."})
    if user_by_email(email) is not None:
        raise Conflict("An account with this e-mail already exists.", code="EMAIL_TAKEN",
                       fields={"email": "An account with this e-mail already exists."})
    user = user_create(email=email, password=secrets.token_urlsafe(16), role=role, display_name=display_name,
                       timezone=timezone, actor=actor, title=title.strip(), email_confirmed=False)
    user.password_hash = UNUSABLE_PREFIX + secrets.token_hex(16)
    db.session.flush()
    outbox_add(recipient=user, template="account_invite", about={"user_id": user.id, "invited_by": actor.id},
               dedup_key=f"account_invite:{user.id}")
    return user


def account_accept_invitation(*, user: User, password: str) -> User:
    """The invited person sets a password; the link's address is thereby confirmed."""
    password_set(user=user, password=password, reason="invitation_accepted")
    return account_confirm(user=user)


def password_reset_request(*, email: str) -> None:
    """Send a reset link if the address has an active account; nothing tells the caller which."""
    user = user_by_email(email)
    if user is None or not user.is_active:
        return
    outbox_add(recipient=user, template="password_reset", about={"user_id": user.id},
               dedup_key=f"password_reset:{user.id}:{_window()}")


def password_reset(*, user: User, password: str) -> User:
    """A new password from a reset link: every older session ends; the address is confirmed."""
    password_set(user=user, password=password, reason="password_reset")
    return account_confirm(user=user)


