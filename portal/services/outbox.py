"""The outbox: how a change says "someone must be told".

Contract for every feature that sends e-mail (stable; other features build on it):

1. Write the message in the SAME transaction as the change, from the service that makes it:

       from portal.services.outbox import outbox_add
       outbox_add(recipient=user, template="booking_confirmed",
                  about={"booking_id": str(booking.id)}, dedup_key=f"booking_confirmed:{booking.id}:{user.id}")

   `about` holds ids (JSON values only), never text people wrote: the message is rendered at
   send time from the current rows. `dedup_key` is unique per event (at most 200 characters):
   writing the same key again writes nothing and returns None, so a retried request or job never
   owes a second mail. The row is flushed, never committed; a rolled-back change sends nothing.

2. Add the message type: a template pair `portal/templates/mail/<template>.txt` and
   `portal/templates/mail/<template>.html`, and a context builder registered under the same name
   in `portal/services/mail_context.py` (see its docstring): it turns `about` into the templates'
   context, including the subject.

Delivery (portal.services.mail_delivery) happens outside the request: an RQ job when REDIS_URL is
set (enqueued when the transaction commits, plus a sweep every minute for retries), the in-process
scheduler of the embedded default otherwise. Health data (note text, cancellation reasons,
recording links) never goes into `about` nor into a template: link to the page instead.
"""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from flask import current_app
from jinja2 import TemplateNotFound
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.extensions import db
from portal.models import Outbox, User
from portal.services import ServiceError

log = logging.getLogger(__name__)

SESSION_KEY = "outbox_new_ids"  # db.session.info: ids written in the open transaction


def _plain(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # dates, decimals: their ISO / plain text


def outbox_add(*, recipient: User, template: str, about: dict, dedup_key: str) -> Outbox | None:
    """Owe `recipient` the message `template` about `about`; None if `dedup_key` was already written.

    Flushes in the caller's transaction (inside a savepoint, so a duplicate key racing in
    from another transaction leaves the caller's work intact)."""
    _check_template(template)
    if not dedup_key or len(dedup_key) > 200:
        raise ServiceError("dedup_key must be 1-200 characters.")
    exists = db.session.execute(sa.select(Outbox.id).where(Outbox.dedup_key == dedup_key)).first()
    if exists is not None:
        return None
    row = Outbox(recipient_id=recipient.id, template=template, about=_plain(about), dedup_key=dedup_key,
                 status="pending", tries=0, next_attempt_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        log.info("outbox: %s already written by another transaction", dedup_key)
        return None
    note_new(row.id)
    return row


def _check_template(template: str) -> None:
    """The template pair must exist (its builder is looked up at send time, in mail_context)."""
    try:
        current_app.jinja_env.get_template(f"mail/{template}.txt")
        current_app.jinja_env.get_template(f"mail/{template}.html")
    except TemplateNotFound:
        raise ServiceError(f"Unknown mail template {template!r}.") from None


def outbox_add_many(rows: list[dict], *, keys_are_new: bool = False) -> int:
    """Bulk form for jobs that write many messages at once (the nightly skip summaries): dicts with
    recipient_id, template, about, dedup_key. Keys already written are left out. Returns the count.

    `keys_are_new` skips looking for them when they name something this transaction has just made
    (a new series' id): nobody can have written them, and the unique key still stands guard."""
    if not rows:
        return 0
    keys = [row["dedup_key"] for row in rows]
    taken = set()
    for start in range(0, 0 if keys_are_new else len(keys), 1000):
        taken |= set(db.session.scalars(sa.select(Outbox.dedup_key).where(
            Outbox.dedup_key.in_(keys[start:start + 1000]))))
    now = clock.now()
    fresh = [{"id": uuid.uuid4(), "recipient_id": row["recipient_id"], "template": row["template"],
              "about": _plain(row["about"]), "dedup_key": row["dedup_key"], "status": "pending", "tries": 0,
              "next_attempt_at": now, "created_at": now}
             for row in rows if row["dedup_key"] not in taken]
    if not fresh:
        return 0
    db.session.execute(sa.insert(Outbox.__table__), fresh)  # a few hundred a night at most
    for row in fresh:
        note_new(row["id"])
    return len(fresh)


def note_new(outbox_id: uuid.UUID) -> None:
    db.session.info.setdefault(SESSION_KEY, []).append(str(outbox_id))
