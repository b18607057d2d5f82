"""Signed links for accounts: confirm an address, accept an invitation, reset a password.

Each link names the user and a fingerprint of what the link may change: the password hash for
invitations and resets (so a link works once: setting the password changes the hash), the
address and whether it is confirmed yet for confirmations (so a confirmation link works once too).
The signature's timestamp bounds its life. Links are made when a message is delivered and kept
nowhere: the outbox keeps a note in their place."""
from __future__ import annotations

import hashlib
import uuid

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import User

CONFIRM, INVITE, RESET = "confirm", "invite", "reset"
MAX_AGE = {CONFIRM: 7 * 24 * 3600, INVITE: 7 * 24 * 3600, RESET: 3600}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal-account-{purpose}")


def _fingerprint(user: User, purpose: str) -> str:
    if purpose == CONFIRM:
        secret = user.email_normalized + ("" if user.email_confirmed_at is None else ":confirmed")
    else:
        secret = user.password_hash
    return hashlib.sha256(f"{purpose}:{secret}".encode()).hexdigest()[:20]


def link_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": str(user.id), "f": _fingerprint(user, purpose)})


def link_user(token: str, purpose: str) -> User | None:
    """The user a live link of this purpose names; None when forged, expired or already used."""
    try:
        data = _serializer(purpose).loads(token or "", max_age=MAX_AGE[purpose])
        user = db.session.get(User, uuid.UUID(str(data["u"])))
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        return None
    if user is None or not user.is_active or data.get("f") != _fingerprint(user, purpose):
        return None
    return user
