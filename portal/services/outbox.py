"""The outbox: how a change says "someone must be told".

Contract for every feature that sends e-mail (stable; other features build on it):

1. Write the message in the SAME transaction as the change, from the service that makes it:

       from portal.services.outbox import outbox_add
       outbox_add(recipient=user, template="booking_confirmed",
                  about={"booking_id": str(booking.id)}, dedup_key=f"booking_confirmed:{booking.id}:{user.id}")

   `about` holds ids (JSON values only), never text people wrote: the message is rendered at
   send time from the current rows. `dedup_key` is unique per event (at most 200 characters):
   writing the same key again writes nothing and returns None, so a retried request or job never
   owes a second mail. The row is written, never committed; a rolled-back change sends nothing.

2. Add the message type: a template pair `portal/templates/mail/<template>.txt` and
   `portal/templates/mail/<template>.html`, and a context builder registered under the same name
   in `portal/services/mail_context.py` (see its docstring): it turns `about` into the templates'
   context, including the subject.

Delivery (portal.services.mail_delivery) happens outside the request: an RQ job when REDIS_URL is
set (woken when the transaction commits: portal.jobs.delivery; plus a sweep every minute for
retries), the in-process scheduler of the embedded default otherwise. Health data (note text,
cancellation reasons, recording links) never goes into `about` nor into a template: link to the
page instead.
"""
from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from flask import current_app
from jinja2 import TemplateNotFound
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Outbox, User
from portal.models.row_security import row_security_active

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


def outbox_add(*, recipient: User, template: str, about: dict, dedup_key: str) -> uuid.UUID | None:
    """Owe `recipient` the message `template` about `about`: the new row's id, or None if
    `dedup_key` was already written (also by another transaction committing meanwhile).

    One statement in the caller's transaction, never committed here."""
    _check_template(template)
    if not dedup_key or len(dedup_key) > 200:
        raise ServiceError("dedup_key must be 1-200 characters.")
    written = _insert_new([{"recipient_id": recipient.id, "template": template, "about": about,
                            "dedup_key": dedup_key}])
    return written[0] if written else None


def _check_template(template: str) -> None:
    """The template pair must exist (its builder is looked up at send time, in mail_context)."""
    try:
        current_app.jinja_env.get_template(f"mail/{template}.txt")
        current_app.jinja_env.get_template(f"mail/{template}.html")
    except TemplateNotFound:
        raise ServiceError(f"Unknown mail template {template!r}.") from None


def outbox_add_many(rows: list[dict]) -> int:
    """Bulk form (a booking's parties, a night's notices): dicts with recipient_id, template, about,
    dedup_key. Keys already written are left out. Returns how many rows were written."""
    return sum(len(_insert_new(rows[start:start + 1000])) for start in range(0, len(rows), 1000))


def _insert_new(rows: list[dict]) -> list[uuid.UUID]:
    """INSERT ... ON CONFLICT (dedup_key) DO NOTHING RETURNING id, on PostgreSQL and SQLite alike.

    A key another open transaction has just written waits for it, then writes nothing if it
    committed: no savepoint and no lookup beforehand (a round trip each)."""
    if not rows:
        return []
    db.session.flush()  # the recipients may be new in this transaction: their rows first
    return outbox_written(db.session.execute(outbox_insert(rows)))


def outbox_insert(rows: list[dict]) -> sa.Executable:
    """The one statement that writes `rows` (outbox_add_many's dicts) whose keys are new and
    returns their ids: for a caller writing them beside other rows (models.bulk.write_together),
    who hands its result to outbox_written."""
    now = clock.now()
    values = [{"id": uuid.uuid4(), "recipient_id": row["recipient_id"], "template": row["template"],
               "about": _plain(row["about"]), "dedup_key": row["dedup_key"], "status": "pending", "tries": 0,
               "next_attempt_at": now, "created_at": now} for row in rows]
    if row_security_active():
        return _insert_unread(values)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return (dialect.insert(Outbox.__table__).values(values)
            .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Outbox.__table__.c.id))


def outbox_written(result: sa.Result) -> list[uuid.UUID]:
    """The ids outbox_insert's statement wrote, noted for delivery when the transaction commits."""
    written = [value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for value in result.scalars()]
    for outbox_id in written:
        note_new(outbox_id)
    return written


def _insert_unread(values: list[dict]) -> sa.Executable:
    """Under row-level security a request may not read the outbox (it is the staff's), and ON
    CONFLICT reads the key: the database's writer (portal_outbox_write) inserts the new keys
    and says which, nothing more."""
    rows = sa.bindparam("rows", json.loads(json.dumps(values, default=str)), type_=sa.JSON)
    return sa.select(sa.func.portal_outbox_write(rows))


def note_new(outbox_id: uuid.UUID) -> None:
    db.session.info.setdefault(SESSION_KEY, []).append(str(outbox_id))
