"""The transactional outbox: one row per e-mail a change owes someone.

A service writes the row in the same transaction as the change (portal.services.outbox.outbox_add),
so a rolled-back change owes nobody anything. Delivery (portal.services.mail_delivery) claims a
row by moving it to `sending` under a lease, renders it, hands it to SMTP and records the outcome;
the rendered subject and bodies are kept on the row so that the mailbox page (/admin/outbox) shows
the message as it went out, except for an account link, which the kept copy replaces by a note."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import PlainJSON, UTCDateTime, new_id, utcnow
from portal.models.users import User

# pending: waiting for its (next) try; sending: claimed by a deliverer under a lease;
# sent: the SMTP server took it; kept: no SMTP_URL, so written to instance/mail (and the console);
# failed: out of tries, or interrupted after it was handed to SMTP (never resent on its own);
# dropped: no longer applies at send time (a reminder for a booking cancelled since).
OUTBOX_STATUSES = ("pending", "sending", "sent", "kept", "failed", "dropped")


class Outbox(db.Model):
    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    recipient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(sa.String(64))
    # Ids (as text) of what the message is about; the template's context builder reads the rest at send time.
    about: Mapped[dict] = mapped_column(PlainJSON, default=dict)
    # Unique per event: writing the same event twice writes one row.
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", server_default="pending")
    tries: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set (and committed) just before the message goes to the SMTP server: a deliverer that dies
    # after this point may have sent it, so the row is never retried on its own.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    sent_to: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    body_text: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    recipient: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint(f"status IN {OUTBOX_STATUSES!r}", name="status"),
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
        sa.Index("ix_outbox_created", "created_at", "id"),
    )
