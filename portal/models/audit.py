from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import PlainJSON, UTCDateTime, new_id, utcnow

AUDIT_STATUSES = ("success", "failure", "success_with_errors")


class AuditLog(db.Model):
    __tablename__ = "audit_logs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    # Null for the system (scheduled jobs).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    old_values: Mapped[dict | None] = mapped_column(PlainJSON, nullable=True)
    new_values: Mapped[dict | None] = mapped_column(PlainJSON, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(24), default="success")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {AUDIT_STATUSES!r}", name="status"),
        # Keyset pagination walks (created_at, id) newest first under each filter.
        sa.Index("ix_audit_logs_created", "created_at", "id"),
        sa.Index("ix_audit_logs_action_created", "action", "created_at", "id"),
        sa.Index("ix_audit_logs_actor_created", "actor_id", "created_at", "id"),
        sa.Index("ix_audit_logs_entity", "entity_type", "entity_id", "created_at"),
        sa.Index("ix_audit_logs_status_created", "status", "created_at", "id"),
    )
