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

Builders live in this module (or in a module imported by `load_builders`), keyed by template name.
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
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain.zones import zone_of
from portal.extensions import db
from portal.models import (
    Booking,
    PackageEnrolment,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Service,
    User,
)
from portal.selectors.meetings import booking_location


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


def _uuid(about: dict, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(about[key]))
    except (KeyError, ValueError):
        raise MailObsolete(f"about has no valid {key}") from None


def _booking(about: dict) -> Booking:
    """The booking with what its message shows, in one query: both parties and the service go
    into the session, where `_other_party` and `booking_location` find them."""
    found = db.session.execute(
        sa.select(Booking, Service).outerjoin(Service, Service.id == Booking.service_id)
        .options(joinedload(Booking.patient), joinedload(Booking.specialist_user), joinedload(Booking.cancellation))
        .where(Booking.id == _uuid(about, "booking_id"))).unique().first()
    if found is None:
        raise MailObsolete("the booking no longer exists")
    return found[0]


def _other_party(booking: Booking, recipient: User) -> User:
    other_id = booking.specialist_id if recipient.id == booking.patient_id else booking.patient_id
    return db.session.get(User, other_id)


def _booking_context(booking: Booking, recipient: User) -> dict:
    from portal.selectors.intake import intake_pending

    location = booking_location(booking)
    is_patient = recipient.id == booking.patient_id
    return {"booking": booking, "other": _other_party(booking, recipient),
            "starts_local": local_text(booking.starts_at, recipient),
            "is_patient": is_patient,
            "minutes": int((booking.ends_at - booking.starts_at).total_seconds() // 60),
            "location_kind": location and location.kind,
            "address": location and location.address,
            # The join link opens the session: put in at delivery, never kept (secret_names).
            "join_url": location.url if location and location.kind == "video" else None,
            # That the questionnaire waits, never what it asks or was answered.
            "intake_pending": is_patient and intake_pending(booking.patient_id, booking.specialist_id)}


def _secrets(context: dict) -> frozenset[str]:
    return frozenset({"join_url"}) if context.get("join_url") else frozenset()


@mail_context("booking_confirmed")
def booking_confirmed(*, recipient: User, about: dict) -> MailContent:
    from portal.services.ics import booking_invitation

    booking = _booking(about)
    if booking.status == "cancelled":
        raise MailObsolete("the booking was cancelled before its confirmation went out")
    context = _booking_context(booking, recipient)
    return MailContent(subject="Session booked: " + local_text(booking.starts_at, recipient),
                       context=context, secret_names=_secrets(context),
                       attachments=[Attachment(*booking_invitation(booking, method="REQUEST"))])


@mail_context("booking_cancelled")
def booking_cancelled(*, recipient: User, about: dict) -> MailContent:
    from portal.services.ics import booking_invitation

    booking = _booking(about)
    cancellation = booking.cancellation
    canceller = db.session.get(User, cancellation.cancelled_by) if cancellation else None
    context = _booking_context(booking, recipient)
    # Who and when only: the reason is health-adjacent and stays in the portal.
    context.update(canceller=canceller,
                   cancelled_local=local_text(cancellation.created_at, recipient) if cancellation else None)
    return MailContent(subject="Session cancelled: " + local_text(booking.starts_at, recipient),
                       context=context,
                       attachments=[Attachment(*booking_invitation(booking, method="CANCEL"))])


@mail_context("booking_moved")
def booking_moved(*, recipient: User, about: dict) -> MailContent:
    """The new time, with the invitation's same UID and higher SEQUENCE: calendars move the event."""
    from portal.services.ics import booking_invitation

    booking = _booking(about)
    if booking.status == "cancelled" or booking.ics_sequence != about.get("sequence"):
        raise MailObsolete("the booking was cancelled or moved again before this mail went out")
    context = _booking_context(booking, recipient)
    return MailContent(subject="Session moved: " + local_text(booking.starts_at, recipient),
                       context=context, secret_names=_secrets(context),
                       attachments=[Attachment(*booking_invitation(booking, method="REQUEST"))])


@mail_context("booking_reminder")
def booking_reminder(*, recipient: User, about: dict) -> MailContent:
    from portal.services.reminders import opt_out_token

    booking = _booking(about)
    if booking.status not in ("pending", "confirmed"):
        raise MailObsolete("the booking is no longer active")
    if not recipient.reminders_enabled:
        raise MailObsolete("the recipient turned reminders off")
    context = _booking_context(booking, recipient)
    context["opt_out_token"] = token = opt_out_token(recipient)
    opt_out = absolute_url("mail.reminders_off_post", token=token)
    return MailContent(subject="Reminder: your session on " + local_text(booking.starts_at, recipient),
                       context=context,
                       headers={"List-Unsubscribe": f"<{opt_out}>",
                                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                       # working links (the session's room; one that turns the recipient's reminders off):
                       # not kept for staff to read
                       secret_names=frozenset({"opt_out_token"}) | _secrets(context))


def _series(about: dict) -> RecurringBooking:
    series = db.session.get(RecurringBooking, _uuid(about, "recurring_id"))
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
    enrolment = db.session.get(PackageEnrolment, _uuid(about, "enrolment_id"))
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


def load_builders() -> None:
    """Import the modules that register builders elsewhere (none yet besides this one)."""
