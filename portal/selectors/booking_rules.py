"""Reads for the booking rules: a specialist's rules and a patient's upcoming bookings with them."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from portal.domain.booking_rules import DEFAULT_RULES, BookingRules
from portal.extensions import db
from portal.models import ACTIVE_STATUSES, Booking, SpecialistProfile
from portal.models.bulk import among

_RULE_COLUMNS = (SpecialistProfile.max_upcoming_per_patient, SpecialistProfile.min_notice_hours,
                 SpecialistProfile.booking_window_days, SpecialistProfile.buffer_before_minutes,
                 SpecialistProfile.buffer_after_minutes, SpecialistProfile.slot_interval_minutes)


def booking_rules_of(specialist_id: uuid.UUID) -> BookingRules:
    """The specialist's rules (the defaults for one without a profile).

    From the profile the request has loaded already (specialist_get loads it before
    every booking), else one query for it."""
    profile = db.session.get(SpecialistProfile, specialist_id)
    if profile is None:
        return DEFAULT_RULES
    return BookingRules(*(getattr(profile, column.key) for column in _RULE_COLUMNS))


def booking_rules_of_many(specialist_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, BookingRules]:
    """One query for many specialists (the dispatcher's batches)."""
    ids = set(specialist_ids)
    if not ids:
        return {}
    rows = db.session.execute(sa.select(SpecialistProfile.id, *_RULE_COLUMNS).where(among(SpecialistProfile.id, ids)))
    found = {row[0]: BookingRules(*row[1:]) for row in rows}
    return {i: found.get(i, DEFAULT_RULES) for i in ids}


def _upcoming(now: datetime):
    return sa.and_(Booking.status.in_(ACTIVE_STATUSES), Booking.starts_at > now)


def upcoming_count(*, patient_id: uuid.UUID, specialist_id: uuid.UUID, now: datetime,
                   moving_id: uuid.UUID | None = None) -> int:
    """The patient's active bookings with the specialist that start after `now`
    (one-off and series occurrences alike), the booking being moved (`moving_id`) left out."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(
            Booking.patient_id == patient_id, Booking.specialist_id == specialist_id, _upcoming(now),
            *([Booking.id != moving_id] if moving_id else []))
    ) or 0


def upcoming_counts(pairs: Iterable[tuple[uuid.UUID, uuid.UUID]], now: datetime
                    ) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """upcoming_count for many (patient, specialist) pairs in one query: patients among
    the pairs' patients and specialists among theirs, grouped, then kept to the pairs."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = db.session.execute(
        sa.select(Booking.patient_id, Booking.specialist_id, sa.func.count())
        .where(among(Booking.patient_id, {p for p, _ in pairs}),
               among(Booking.specialist_id, {s for _, s in pairs}), _upcoming(now))
        .group_by(Booking.patient_id, Booking.specialist_id)
    )
    counts = {(p, s): n for p, s, n in rows}
    return {pair: counts.get(pair, 0) for pair in pairs}
