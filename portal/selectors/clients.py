"""A specialist's clients: the patients they have seen or will see, and each one's record with them
(bookings, notes, packages), all scoped through the policies."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from portal import clock
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking, PackageEnrolment, SessionNote, User
from portal.policies import visible
from portal.selectors.pagination import Pagination, paginate


@dataclass(frozen=True)
class ClientRow:
    patient: User
    sessions: int
    last_at: datetime | None
    next_at: datetime | None


def clients_page(*, viewer: User, query: str = "", page=1, per_page: int = 25) -> tuple[Pagination, list[ClientRow]]:
    """One page of the patients with bookings with the viewer, by name, and each one's sessions,
    last session and next upcoming session (one query for the page's patients)."""
    mine = sa.and_(visible(Booking, viewer), Booking.specialist_id == viewer.id)
    patients = sa.select(User).where(User.id.in_(sa.select(Booking.patient_id).where(mine)))
    if query.strip():
        pattern = f"%{query.strip().lower()}%"
        patients = patients.where(sa.or_(User.email_normalized.like(pattern),
                                         sa.func.lower(User.display_name).like(pattern)))
    results = paginate(patients.order_by(User.display_name, User.id), page=page, per_page=per_page)
    now = clock.now()
    upcoming = sa.and_(Booking.starts_at > now, Booking.status.in_(ACTIVE_STATUSES))
    stats = {row.patient_id: row for row in db.session.execute(
        sa.select(Booking.patient_id, sa.func.count(Booking.id).label("sessions"),
                  sa.func.max(sa.case((Booking.starts_at <= now, Booking.starts_at))).label("last_at"),
                  sa.func.min(sa.case((upcoming, Booking.starts_at))).label("next_at"))
        .where(mine, Booking.patient_id.in_([p.id for p in results.items])).group_by(Booking.patient_id))}
    rows = [ClientRow(p, stats[p.id].sessions, _aware(stats[p.id].last_at), _aware(stats[p.id].next_at))
            for p in results.items]
    return results, rows


def _aware(value) -> datetime | None:
    """Aggregates skip the column type: SQLite hands back naive UTC text or datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def client_bookings(*, viewer: User, patient_id: uuid.UUID, limit: int = 200) -> list[Booking]:
    """The patient's bookings with the viewer, newest first."""
    return list(db.session.scalars(
        sa.select(Booking).where(visible(Booking, viewer), Booking.specialist_id == viewer.id,
                                 Booking.patient_id == patient_id)
        .options(joinedload(Booking.patient), joinedload(Booking.cancellation))
        .order_by(Booking.starts_at.desc()).limit(limit)))


def client_notes(*, viewer: User, patient_id: uuid.UUID, limit: int = 100) -> list[SessionNote]:
    """The notes the viewer may read about the patient's sessions with them, newest first."""
    return list(db.session.scalars(
        sa.select(SessionNote).join(Booking, Booking.id == SessionNote.booking_id)
        .where(visible(SessionNote, viewer), Booking.specialist_id == viewer.id, Booking.patient_id == patient_id)
        .options(joinedload(SessionNote.booking), selectinload(SessionNote.amendments))
        .order_by(SessionNote.created_at.desc(), SessionNote.id.desc()).limit(limit)))


def client_enrolments(*, viewer: User, patient_id: uuid.UUID) -> list[PackageEnrolment]:
    """The patient's packages with the viewer, newest first."""
    return list(db.session.scalars(
        sa.select(PackageEnrolment).where(visible(PackageEnrolment, viewer),
                                          PackageEnrolment.specialist_id == viewer.id,
                                          PackageEnrolment.patient_id == patient_id)
        .order_by(PackageEnrolment.created_at.desc(), PackageEnrolment.id)))
