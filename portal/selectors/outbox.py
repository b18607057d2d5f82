"""Reading the outbox: the mailbox page (admins and ops) and the failed deliveries on the ops page."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import policies
from portal.extensions import db
from portal.models import OUTBOX_STATUSES, JobRun, Outbox
from portal.selectors.pagination import Pagination, paginate


def outbox_page(*, user, page, per_page: int = 25, status: str | None = None) -> Pagination:
    query = (sa.select(Outbox).where(policies.visible(Outbox, user)).options(joinedload(Outbox.recipient))
             .order_by(Outbox.created_at.desc(), Outbox.id.desc()))
    if status in OUTBOX_STATUSES:
        query = query.where(Outbox.status == status)
    return paginate(query, page=page, per_page=per_page)


def outbox_message(*, user, outbox_id: uuid.UUID) -> Outbox | None:
    return db.session.execute(sa.select(Outbox).options(joinedload(Outbox.recipient))
                              .where(Outbox.id == outbox_id, policies.visible(Outbox, user))).scalar_one_or_none()


def outbox_failed(*, user, limit: int = 20) -> list[Outbox]:
    return list(db.session.scalars(sa.select(Outbox).options(joinedload(Outbox.recipient))
                                   .where(Outbox.status == "failed", policies.visible(Outbox, user))
                                   .order_by(Outbox.created_at.desc()).limit(limit)))


def outbox_counts(*, user) -> dict[str, int]:
    return dict(db.session.execute(sa.select(Outbox.status, sa.func.count())
                                   .where(policies.visible(Outbox, user)).group_by(Outbox.status)).all())


def job_runs(*, user) -> dict[str, JobRun]:
    return {row.job_id: row for row in db.session.scalars(sa.select(JobRun).where(policies.visible(JobRun, user)))}
