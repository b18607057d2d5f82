"""Reads of the access log and of erasure requests, scoped through their policies."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import ErasureRequest, RecordAccess, User
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate

RECORD_WORDS = {"session_note": "Session note", "meeting_recording": "Session recording",
                "intake_response": "Intake answers"}


def access_log_page(*, viewer, patient_id: uuid.UUID, page=1, per_page: int = 50) -> Pagination:
    """Who read `patient_id`'s records, newest first, each row with its reader and session."""
    query = (sa.select(RecordAccess)
             .where(visible(RecordAccess, viewer), RecordAccess.patient_id == patient_id)
             .options(joinedload(RecordAccess.reader), joinedload(RecordAccess.booking))
             .order_by(RecordAccess.accessed_at.desc(), RecordAccess.id.desc()))
    return paginate(query, page=page, per_page=per_page)


def erasure_requests_of(*, viewer, patient_id: uuid.UUID) -> list[ErasureRequest]:
    return list(db.session.scalars(
        sa.select(ErasureRequest).where(visible(ErasureRequest, viewer), ErasureRequest.patient_id == patient_id)
        .order_by(ErasureRequest.requested_at.desc(), ErasureRequest.id.desc())))


def erasure_requests_page(*, viewer, status: str | None = "pending", page=1, per_page: int = 50) -> Pagination:
    """Erasure requests for the admins' page: the pending ones oldest first, the decided newest first."""
    where = [visible(ErasureRequest, viewer)]
    if status:
        where.append(ErasureRequest.status == status)
    order = (ErasureRequest.requested_at, ErasureRequest.id) if status == "pending" else (
        ErasureRequest.decided_at.desc(), ErasureRequest.id.desc())
    return paginate(sa.select(ErasureRequest).where(*where).options(joinedload(ErasureRequest.patient))
                    .order_by(*order), page=page, per_page=per_page)


def patient_for_access_log(*, viewer, patient_id) -> User:
    """The patient whose access log an admin opens (a patient has theirs under their account)."""
    from portal.policies import load

    return load(User, patient_id, viewer, missing="No such patient.")
