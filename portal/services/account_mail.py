"""The account messages: confirm an address, accept an invitation, reset a password, and
"someone tried to sign up with your address". Each link is signed when the message is built
at delivery (portal.services.account_links), so its clock starts when it is sent, and a retried
message carries a fresh one. The token is a secret name: the outbox keeps only a note that a link
was sent."""
from __future__ import annotations

import uuid

from portal.extensions import db
from portal.models import User
from portal.services.account_links import CONFIRM, INVITE, MAX_AGE, RESET, link_token
from portal.services.mail_context import MailContent, MailObsolete, mail_context

# The templates' link tokens: only the delivered message carries them.
LINK_TOKEN = frozenset({"token"})


@mail_context("account_confirm")
def account_confirm_mail(*, recipient: User, about: dict) -> MailContent:
    if recipient.email_confirmed_at is not None:
        raise MailObsolete("the address is confirmed already")
    return MailContent(subject="Confirm your e-mail address",
                       context={"token": link_token(recipient, CONFIRM), "days": MAX_AGE[CONFIRM] // 86400,
                                "next": about.get("next")},
                       secret_names=LINK_TOKEN)


@mail_context("account_invite")
def account_invite_mail(*, recipient: User, about: dict) -> MailContent:
    if recipient.email_confirmed_at is not None:
        raise MailObsolete("the invitation was accepted already")
    inviter = db.session.get(User, uuid.UUID(str(about["invited_by"]))) if about.get("invited_by") else None
    return MailContent(subject="You are invited to the clinic portal",
                       context={"token": link_token(recipient, INVITE), "inviter": inviter,
                                "days": MAX_AGE[INVITE] // 86400},
                       secret_names=LINK_TOKEN)


@mail_context("password_reset")
def password_reset_mail(*, recipient: User, about: dict) -> MailContent:
    if not recipient.is_active:
        raise MailObsolete("the account was deactivated")
    return MailContent(subject="Reset your password",
                       context={"token": link_token(recipient, RESET), "minutes": MAX_AGE[RESET] // 60},
                       secret_names=LINK_TOKEN)


@mail_context("account_exists")
def account_exists_mail(*, recipient: User, about: dict) -> MailContent:
    return MailContent(subject="Someone tried to sign up with your e-mail address", context={})
