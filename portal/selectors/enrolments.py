"""Reads of package enrolments, scoped through policies.EnrolmentPolicy."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import PackageEnrolment
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate

EXPIRY_WARNING_DAYS = 7


def enrolments_page(*, viewer, status: str | None = None, specialist_id: uuid.UUID | None = None,
                    patient_id: uuid.UUID | None = None, page=1, per_page: int = 50) -> Pagination:
    """One page of the enrolments the viewer may see, newest first."""
    where = [visible(PackageEnrolment, viewer)]
    if status is not None:
        where.append(PackageEnrolment.status == status)
    if specialist_id is not None:
        where.append(PackageEnrolment.specialist_id == specialist_id)
    if patient_id is not None:
        where.append(PackageEnrolment.patient_id == patient_id)
    return paginate(sa.select(PackageEnrolment).where(*where)
                    .order_by(PackageEnrolment.created_at.desc(), PackageEnrolment.id),
                    page=page, per_page=per_page)


def enrolments_of_patient(*, viewer, specialist_id: uuid.UUID | None = None) -> list[PackageEnrolment]:
    """The viewer's own enrolments (optionally with one specialist): usable ones first."""
    query = sa.select(PackageEnrolment).where(visible(PackageEnrolment, viewer),
                                              PackageEnrolment.patient_id == viewer.id)
    if specialist_id is not None:
        query = query.where(PackageEnrolment.specialist_id == specialist_id)
    order = sa.case((PackageEnrolment.status == "active", 0), (PackageEnrolment.status == "pending_payment", 1),
                    else_=2)
    return list(db.session.scalars(query.order_by(order, PackageEnrolment.created_at.desc()).limit(100)))


def expires_soon(enrolment: PackageEnrolment, today: date | None = None) -> bool:
    """Active with credits left and expiring within the warning window (templates say so)."""
    today = today or clock.today()
    return (enrolment.status == "active" and enrolment.expires_on is not None
            and enrolment.credits_remaining > 0
            and enrolment.expires_on <= today + timedelta(days=EXPIRY_WARNING_DAYS))


def enrolments_due_expiry_notice(*, today: date) -> list[PackageEnrolment]:
    """Active enrolments with sessions left that end within the warning window and have had no notice."""
    return list(db.session.scalars(
        sa.select(PackageEnrolment).where(
            PackageEnrolment.status == "active", PackageEnrolment.expiry_notice_at.is_(None),
            PackageEnrolment.credits_used < PackageEnrolment.credits_total,
            PackageEnrolment.expires_on.between(today, today + timedelta(days=EXPIRY_WARNING_DAYS)))
        .order_by(PackageEnrolment.expires_on, PackageEnrolment.id)))


def patient_names(patient_ids: set) -> dict[uuid.UUID, str]:
    """Display names of the patients of enrolments the viewer already may see."""
    if not patient_ids:
        return {}
    from portal.models import User

    rows = db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(patient_ids)))
    return {row.id: row.display_name for row in rows}
