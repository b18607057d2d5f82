"""A message as delivered and as the outbox keeps it.

Each try renders the message afresh from the current rows, so an account link is made when its
message is delivered (and a retry makes a new one). The copy the outbox keeps has a note in place
of such links: the outbox never holds a working secret."""
from __future__ import annotations

import email.policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from flask import current_app, render_template

from portal.domain.zones import zone_of
from portal.models import Outbox, User
from portal.services.mail_context import MailContent, absolute_url, build, local_text

LINK_NOT_KEPT = "[a personal link was sent to the recipient; it is not kept here]"


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each header's class once. The standard one makes a
    new class for every header it is asked for: about a quarter of composing a message."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# email.policy.default, whose messages it writes byte for byte, at less cost.
MAIL_POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


class _Withheld:
    """Stands in for a secret context value (MailContent.secret_names) in the copy the outbox keeps."""

    def __str__(self) -> str:
        return LINK_NOT_KEPT


def _template_context(content: MailContent, recipient: User, link) -> dict:
    return {**content.context, "recipient": recipient, "portal_url": current_app.config["PORTAL_BASE_URL"],
            "link": link, "local": lambda dt: local_text(dt, recipient), "zone": zone_of(recipient).key}


def _render_pair(template: str, context: dict) -> tuple[str, str]:
    return render_template(f"mail/{template}.txt", **context), render_template(f"mail/{template}.html", **context)


def render(row: Outbox, recipient: User) -> tuple[MailContent, str, str]:
    """(content, text body, HTML body) of the row's message for its recipient, as of now."""
    content = build(row.template, recipient=recipient, about=row.about or {})
    text, html = _render_pair(row.template, _template_context(content, recipient, absolute_url))
    return content, text, html


def render_kept_copy(row: Outbox, recipient: User, content: MailContent) -> tuple[str, str]:
    """(text, HTML) of the copy the outbox keeps: as delivered, with a note in place of every
    secret value and of every link that carries one, so no working link is stored."""
    withheld = _Withheld()

    def link(endpoint: str, **values) -> str:
        if any(value is withheld for value in values.values()):
            return LINK_NOT_KEPT
        return absolute_url(endpoint, **values)

    context = {**_template_context(content, recipient, link), **dict.fromkeys(content.secret_names, withheld)}
    text, html = _render_pair(row.template, context)
    for name in content.secret_names:
        secret = str(content.context[name])
        if secret in text or secret in html:
            raise RuntimeError(f"mail/{row.template} shows its secret {name!r} outside link()")
    return text, html


def compose(row: Outbox, recipient: User, content: MailContent, text: str, html: str) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    sender = current_app.config["MAIL_FROM"]
    message["From"] = sender
    message["To"] = formataddr((recipient.display_name, recipient.email))
    message["Subject"] = content.subject
    domain = parseaddr(sender)[1].rpartition("@")[2] or "clinic-portal"
    message["Message-ID"] = f"<outbox-{row.id}@{domain}>"  # stable: a resend is the same message
    message["Auto-Submitted"] = "auto-generated"
    for name, value in content.headers.items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in content.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = [part.strip() for part in rest.split(";")]
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                               params=dict(p.split("=", 1) for p in params if "=" in p))
    return message
