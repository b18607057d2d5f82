"""The steps of booking on a specialist's page, as plain values for the template: which service,
which week of free times (with the weeks before and after and the dates a picker may reach),
and the review of one chosen time before "Confirm"."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_login import current_user

from portal import clock
from portal.bookings.slots import SlotButton, cancellation_sentence, session_spans
from portal.domain.zones import zone_of
from portal.models import Role, Service, User
from portal.selectors.availability import free_slots
from portal.selectors.booking_rules import booking_rules_of
from portal.selectors.enrolments import enrolments_of_patient
from portal.selectors.public_cache import public_free_slots
from portal.selectors.services import Offer, grid_minutes_of, offers_of, package_covers, service_get
from portal.web.templating import LOCAL_DATETIME_FORMAT, money, viewer_zone

WEEK = 7


@dataclass
class Week:
    first: date  # the specialist's local date the week starts on
    days: dict  # the patient's local date -> [SlotButton]
    earliest: date  # what the date picker may reach
    latest: date

    @property
    def last(self) -> date:
        return self.first + timedelta(days=WEEK - 1)

    @property
    def previous(self) -> date | None:
        return None if self.first <= self.earliest else max(self.earliest, self.first - timedelta(days=WEEK))

    @property
    def next(self) -> date | None:
        following = self.first + timedelta(days=WEEK)
        return following if following <= self.latest else None


def chosen_offer(specialist: User, offers: list[Offer], service_id: str | None) -> Offer | None:
    """The service asked for when it is offered and priced, else the default (the first offer)."""
    priced = [o for o in offers if o.rate is not None]
    for offer in priced:
        if str(offer.service.id) == (service_id or ""):
            return offer
    return priced[0] if priced else None


def bookable_offers(specialist: User) -> list[Offer]:
    return [o for o in offers_of(specialist.id, clock.today(zone_of(specialist).key)) if o.rate is not None]


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def week_of(specialist: User, offer: Offer, asked: str | None, *, offers: list[Offer] | None = None) -> Week:
    """Free times of the offer's service for the week from `asked` (a date; today when missing or
    outside the booking window), grouped by the patient's local date. `offers`: the bookable
    offers read for today (bookable_offers), whose lengths give today's default grid."""
    now = clock.now()
    their_zone = zone_of(specialist)
    today = now.astimezone(their_zone).date()
    latest = booking_rules_of(specialist.id).latest_start(now, current_app.config["MAX_BOOKING_AHEAD_DAYS"])
    latest = latest.astimezone(their_zone).date()
    first = parse_day(asked) or today
    first = min(max(first, today), latest)
    zone = viewer_zone()
    days = defaultdict(list)
    grid_minutes = grid_minutes_of(offers) if offers and first == today else None
    for start, _end in slots_for_viewer(specialist, first, first + timedelta(days=WEEK - 1), now=now,
                                        duration=timedelta(minutes=offer.rate.duration_minutes),
                                        grid_minutes=grid_minutes):
        local = start.astimezone(zone)
        days[local.date()].append(SlotButton(start.isoformat(), local.strftime(LOCAL_DATETIME_FORMAT),
                                             local.strftime("%H:%M")))
    return Week(first, dict(days), today, latest)


def slots_for_viewer(specialist: User, first: date, last: date, *, now: datetime, duration: timedelta,
                     grid_minutes: int | None = None) -> list:
    """A patient's own free times (none where they are booked elsewhere, none past their limit);
    anyone else's, the public ones (cached)."""
    if current_user.is_authenticated and current_user.role == Role.PATIENT:
        return free_slots(specialist, first, last, now=now, duration=duration, patient_id=current_user.id,
                          grid_minutes=grid_minutes)
    return public_free_slots(specialist, first, last, now=now, duration=duration)


@dataclass
class Review:
    """What the patient is about to book, in words."""

    starts_at: datetime
    ends_at: datetime
    offer: Offer
    patient_time: str
    specialist_time: str | None  # only when the zones differ
    paid_by: str  # "from package “Four” (3 left)" or the price
    uses_package: bool
    cancellation: str
    week: date  # the specialist's local date of the session: "Back to times" shows its week


def _usable_enrolment(specialist: User, offer: Offer, day: date):
    for enrolment in enrolments_of_patient(viewer=current_user, specialist_id=specialist.id):
        if (enrolment.status == "active" and enrolment.credits_remaining > 0
                and (enrolment.expires_on is None or enrolment.expires_on >= day)
                and (enrolment.starts_on is None or enrolment.starts_on <= day)
                and package_covers(enrolment.package_id, offer.service.id)):
            return enrolment
    return None


def review_of(specialist: User, offer: Offer, starts_at: datetime, *, use_package: bool) -> Review:
    ends_at = starts_at + timedelta(minutes=offer.rate.duration_minutes)
    span, their_span = session_spans(specialist, starts_at, ends_at)
    theirs = starts_at.astimezone(zone_of(specialist))
    enrolment = _usable_enrolment(specialist, offer, theirs.date()) if use_package else None
    rate = offer.rate
    paid_by = (f"From your package “{enrolment.package_name}” ({enrolment.credits_remaining} left)" if enrolment
               else money(rate.price, rate.currency))
    return Review(starts_at, ends_at, offer, span, their_span, paid_by, enrolment is not None,
                  cancellation_sentence(specialist), theirs.date())


@dataclass
class Booked:
    """A booking just made, in the patient's words: when (and when for the specialist, where
    their clocks differ), and the specialist's week it falls in, for "Book another time"."""

    patient_time: str
    specialist_time: str | None
    service: Service | None  # held here, the session's identity map holds it only while it is referenced
    week: date


def booked_of(specialist: User, booking) -> Booked:
    span, their_span = session_spans(specialist, booking.starts_at, booking.ends_at)
    service = service_get(booking.service_id) if booking.service_id else None
    return Booked(span, their_span, service, booking.starts_at.astimezone(zone_of(specialist)).date())


def service_id_of(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
