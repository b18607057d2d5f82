"""The messages about one booking: confirmed, cancelled, moved, reminder (see mail_context).

Each is rendered from one read of the booking with both parties, its service and its
cancellation; a deliverer reads a batch's bookings in one query beforehand (bookings_read_ahead).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Booking, Service, User
from portal.selectors.meetings import booking_location
from portal.services.mail_context import (
    Attachment,
    MailContent,
    MailObsolete,
    about_id,
    absolute_url,
    local_text,
    mail_context,
)


def _with_what_messages_show(query: sa.Select) -> sa.Select:
    """Bookings with both parties, the cancellation and the service: what a booking's message shows."""
    return (query.add_columns(Service).outerjoin(Service, Service.id == Booking.service_id)
            .options(joinedload(Booking.patient), joinedload(Booking.specialist_user), joinedload(Booking.cancellation))
            .execution_options(populate_existing=True))


def bookings_read_ahead(abouts: list[dict]) -> list:
    """The bookings a batch of messages is about, with what they show, in one query. While the
    caller holds the list the session keeps them, and each message finds its booking there."""
    ids = set()
    for about in abouts:
        try:
            ids.add(uuid.UUID(str(about["booking_id"])))
        except (KeyError, ValueError, TypeError):
            continue
    if not ids:
        return []
    return db.session.execute(_with_what_messages_show(sa.select(Booking).where(Booking.id.in_(ids)))).unique().all()


def _booking(about: dict) -> Booking:
    """The booking with what its message shows: read ahead for the batch (bookings_read_ahead),
    else in one query. Both parties and the service are in the session, where `_other_party` and
    `booking_location` find them."""
    booking_id = about_id(about, "booking_id")
    held = db.session.identity_map.get(db.session.identity_key(Booking, booking_id))
    if held is not None and not sa.inspect(held).expired_attributes:
        return held
    found = db.session.execute(_with_what_messages_show(sa.select(Booking).where(Booking.id == booking_id))
                               ).unique().first()
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


def _invitation(booking: Booking, recipient: User, subject: str) -> MailContent:
    """A message that puts the booking in the recipient's calendar (an .ics REQUEST): confirmed, moved."""
    from portal.services.ics import booking_invitation

    context = _booking_context(booking, recipient)
    return MailContent(subject=f"{subject}: {local_text(booking.starts_at, recipient)}",
                       context=context, secret_names=_secrets(context),
                       attachments=[Attachment(*booking_invitation(booking, method="REQUEST"))])


@mail_context("booking_confirmed")
def booking_confirmed(*, recipient: User, about: dict) -> MailContent:
    booking = _booking(about)
    if booking.status == "cancelled":
        raise MailObsolete("the booking was cancelled before its confirmation went out")
    return _invitation(booking, recipient, "Session booked")


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
    booking = _booking(about)
    if booking.status == "cancelled" or booking.ics_sequence != about.get("sequence"):
        raise MailObsolete("the booking was cancelled or moved again before this mail went out")
    return _invitation(booking, recipient, "Session moved")


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
