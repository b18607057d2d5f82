"""Message types: what each outbox template needs at send time.

A message type is a name, a template pair and a context builder:

    portal/templates/mail/<name>.txt    the plain-text body (Jinja, autoescape off)
    portal/templates/mail/<name>.html   the HTML body (Jinja, autoescaped); may extend mail/_layout.html

    from portal.services.mail_context import MailContent, mail_context

    @mail_context("booking_confirmed")
    def booking_confirmed(*, recipient: User, about: dict) -> MailContent:
        booking = db.session.get(Booking, uuid.UUID(about["booking_id"]))
        if booking is None:
            raise MailObsolete("the booking is gone")
        return MailContent(subject="Your session is booked", context={"booking": booking},
                           attachments=[...])

The builder runs at send time, in an app context, with the recipient (a User) and the row's
`about` dict (ids as text). It returns a MailContent: the subject, the templates' context and
optional attachments (filename, MIME type, bytes). Raise MailObsolete when the message no longer
applies (the row is then dropped, not sent). Every template also gets: `recipient`, `portal_url`
(PORTAL_BASE_URL, no trailing slash), `link(endpoint, **values)` (an absolute URL into the portal),
`local(dt)` (a datetime in the recipient's time zone, as text) and `zone` (the recipient's zone name).
A value that opens something for the recipient (an account link's token) is named in
`secret_names`: only the delivered message carries it, the outbox keeps a note in its place.

Builders live in this module and in modules that register theirs when imported, keyed by template
name: portal.services.booking_mail (imported by mail_delivery) and portal.services.account_mail
(imported by accounts).
No builder may put health data (note text, cancellation reasons, recording links, intake answers) into the
context.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    Booking,
    PackageEnrolment,
    RecurringBooking,
    RecurringOccurrenceSkip,
    User,
)


class MailObsolete(Exception):
    """The message no longer applies (its booking was cancelled, reminders were turned off)."""


@dataclass
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass
class MailContent:
    subject: str
    context: dict = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # extra headers, e.g. List-Unsubscribe
    # Names in `context` whose values only the recipient may hold (an account link's token): the
    # copy the outbox keeps, and the mailbox shows, has a note in their place and in their links.
    secret_names: frozenset[str] = frozenset()


Builder = Callable[..., MailContent]
BUILDERS: dict[str, Builder] = {}


def mail_context(name: str) -> Callable[[Builder], Builder]:
    """Register `builder` as the context builder of the message type `name`."""

    def register(builder: Builder) -> Builder:
        if name in BUILDERS and BUILDERS[name] is not builder:
            raise ValueError(f"mail template {name!r} is registered twice")
        BUILDERS[name] = builder
        return builder

    return register


def is_registered(name: str) -> bool:
    return name in BUILDERS


def build(name: str, *, recipient: User, about: dict) -> MailContent:
    try:
        builder = BUILDERS[name]
    except KeyError:
        raise MailObsolete(f"no message type {name!r}") from None
    return builder(recipient=recipient, about=about)


def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL into the portal, from PORTAL_BASE_URL (no request needed)."""
    base = urlsplit(current_app.config["PORTAL_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def local_text(value: datetime, user: User) -> str:
    """'Monday 7 December 2026, 10:00 (Europe/Berlin)'."""
    zone = zone_of(user)
    moment = value.astimezone(zone)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} ({zone.key})"


def about_id(about: dict, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(about[key]))
    except (KeyError, ValueError):
        raise MailObsolete(f"about has no valid {key}") from None


def _series(about: dict) -> RecurringBooking:
    series = db.session.get(RecurringBooking, about_id(about, "recurring_id"))
    if series is None:
        raise MailObsolete("the series no longer exists")
    return series


@mail_context("series_confirmed")
def series_confirmed(*, recipient: User, about: dict) -> MailContent:
    series = _series(about)
    query = sa.select(Booking).where(Booking.recurring_booking_id == series.id,
                                     Booking.status.in_(("pending", "confirmed")))
    if about.get("from"):
        query = query.where(Booking.starts_at >= datetime.fromisoformat(about["from"]))
    bookings = db.session.scalars(query.order_by(Booking.starts_at).limit(100)).all()
    specialist = db.session.get(User, series.specialist_id)
    patient = db.session.get(User, series.user_id)
    sessions = [{"starts_local": local_text(b.starts_at, recipient), "booked": True} for b in bookings]
    sessions += [{"starts_local": local_text(start, recipient), "booked": False}
                 for start in _planned(series, specialist, after=bookings[-1].starts_at if bookings else None)]
    other = specialist.display_name if recipient.id == series.user_id else patient.display_name
    return MailContent(
        subject=("Series resumed" if about.get("resumed") else "Recurring sessions set up") + f" with {other}",
        context={"series": series, "specialist": specialist, "patient": patient,
                 "resumed": bool(about.get("resumed")), "sessions": sessions})


def _planned(series: RecurringBooking, specialist: User, *, after: datetime | None, count: int = 6) -> list[datetime]:
    """The series' next occurrences not booked yet (each is booked on its day), up to `count`."""
    from portal.domain.recurrence import occurrence_date, occurrence_start

    if not series.is_active or series.paused_at:
        return []
    found, index = [], series.next_occurrence_index
    while len(found) < count:
        day = occurrence_date(series.start_date, series.frequency, index)
        if series.end_date and day > series.end_date:
            break
        start = occurrence_start(day, series.time_of_day, zone_of(specialist))
        if after is None or start > after:
            found.append(start)
        index += 1
    return found


@mail_context("series_skips")
def series_skips(*, recipient: User, about: dict) -> MailContent:
    series = _series(about)
    days = [date.fromisoformat(d) for d in about.get("dates", [])]
    skips = db.session.scalars(sa.select(RecurringOccurrenceSkip).where(
        RecurringOccurrenceSkip.recurring_booking_id == series.id,
        RecurringOccurrenceSkip.occurrence_date.in_(days)).order_by(RecurringOccurrenceSkip.occurrence_date)).all()
    if not skips:
        raise MailObsolete("no skipped occurrences to report")
    specialist = db.session.get(User, series.specialist_id)
    return MailContent(subject=f"Some sessions with {specialist.display_name} could not be booked",
                       context={"series": series, "specialist": specialist,
                                "skips": [{"day": s.occurrence_date, "reason": s.reason} for s in skips]})


@mail_context("package_expiring")
def package_expiring(*, recipient: User, about: dict) -> MailContent:
    enrolment = db.session.get(PackageEnrolment, about_id(about, "enrolment_id"))
    if enrolment is None or enrolment.status != "active" or enrolment.credits_remaining < 1:
        raise MailObsolete("the enrolment has no sessions left to lose")
    if enrolment.expires_on is None or enrolment.expires_on < clock.today():
        raise MailObsolete("the enrolment has already expired")
    specialist = db.session.get(User, enrolment.specialist_id)
    last_day = enrolment.expires_on
    return MailContent(
        subject=f"Your package with {specialist.display_name} expires on {last_day.day} {last_day:%B}",
        context={"enrolment": enrolment, "specialist": specialist,
                 "last_day": f"{last_day:%A} {last_day.day} {last_day:%B %Y}"})

