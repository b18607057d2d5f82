"""What a change of a booking writes beside it: its status-history row, its audit row and the
mail it owes the parties, in one statement (models.bulk.write_together) where the database
allows, so the busiest writes pay one round trip for them, not three."""
from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from portal.models import Booking, BookingStatusHistory, User
from portal.models.bulk import write_together
from portal.models.types import new_id, utcnow
from portal.services.audit import audit_insert
from portal.services.outbox import outbox_insert, outbox_written


def booking_mail_rows(booking: Booking, template: str, recipient_ids: Iterable[uuid.UUID]) -> list[dict]:
    """The outbox rows owing each recipient the booking's `template` mail, one per recipient."""
    return [{"recipient_id": recipient_id, "template": template, "about": {"booking_id": booking.id},
             "dedup_key": f"{template}:{booking.id}:{recipient_id}"} for recipient_id in recipient_ids]


def booking_change_write(*, booking: Booking, actor: User, from_status: str | None, to_status: str,
                         action: str, old_values: dict | None = None, new_values: dict | None = None,
                         template: str | None = None, recipient_ids: Iterable[uuid.UUID] = ()) -> None:
    """Write the history row (`from_status` to `to_status`, by `actor`), the audit row (`action`
    with its values) and, with a `template`, the mail each of `recipient_ids` is owed.
    In the caller's transaction; never committed here."""
    history = sa.insert(BookingStatusHistory).values(
        id=new_id(), booking_id=booking.id, from_status=from_status, to_status=to_status, changed_by=actor.id,
        created_at=utcnow())
    audit = audit_insert(actor=actor, action=action, entity_type="booking", entity_id=booking.id,
                         old_values=old_values, new_values=new_values)
    mail = booking_mail_rows(booking, template, recipient_ids) if template else []
    if not mail:
        write_together(history, audit)
        return
    outbox_written(write_together(history, audit, outbox_insert(mail)))
