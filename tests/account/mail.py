"""Reading the account messages the way a recipient would: the outbox row, rendered through
its registered context builder and its .txt template (the contract of portal.services.outbox)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import url_for

from portal.extensions import db
from portal.models import Outbox


def outbox_rows(template: str, recipient_id=None) -> list[Outbox]:
    db.session.expire_all()
    query = sa.select(Outbox).where(Outbox.template == template)
    if recipient_id is not None:
        query = query.where(Outbox.recipient_id == recipient_id)
    return list(db.session.scalars(query.order_by(Outbox.created_at)))


def rendered_text(app, row: Outbox) -> tuple[str, str]:
    """(subject, plain-text body) of the message as it would be sent now."""
    from portal.services.mail_context import build

    base = app.config["PORTAL_BASE_URL"]
    with app.test_request_context():
        content = build(row.template, recipient=row.recipient, about=row.about)
        context = dict(content.context, recipient=row.recipient, portal_url=base,
                       link=lambda endpoint, **values: base + url_for(endpoint, **values))
        body = app.jinja_env.get_template(f"mail/{row.template}.txt").render(context)
    return content.subject, body


def link_path(app, text: str, prefix: str) -> str:
    """The path of the first link in `text` whose path starts with `prefix`."""
    for url in re.findall(r"https?://\S+", text):
        parts = urlsplit(url)
        if parts.path.startswith(prefix):
            return parts.path
    raise AssertionError(f"no {prefix} link in: {text}")
