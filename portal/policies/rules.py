"""Who may see and change each row: the portal's version of the spec's RLS.

- `visible(Model, user)` is a WHERE clause that scopes a query to the rows
  the user may see (lists, searches, counts);
- `can(action, user, row)` answers yes or no for one row (templates use it
  to show or hide a button).

Actions are "view", "create", "update" and "delete". For "create" the row is
the unsaved object, so the rule can look at what it is attached to. Each table's
rules are a Policy (portal.policies.people, .bookings and .records).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.models import Booking, BookingCancellation, BookingPackage, ConsentTerms, Role, User
from portal.policies.base import Policy
from portal.policies.bookings import (
    BookingPolicy,
    BookingStatusHistoryPolicy,
    CancellationPolicy,
    EnrolmentPolicy,
    PackagePolicy,
    RecurringPolicy,
    RecurringSkipPolicy,
)
from portal.policies.meetings import ConsentPolicy, ConsentTermsPolicy, IntakeFormPolicy, IntakeResponsePolicy
from portal.policies.people import (
    ApiTokenPolicy,
    ExceptionPolicy,
    PackageServicePolicy,
    RatePolicy,
    ServicePolicy,
    SpecialistProfilePolicy,
    UserPolicy,
    WorkingHoursPolicy,
)
from portal.policies.records import (
    AmendmentPolicy,
    AuditLogPolicy,
    ErasureRequestPolicy,
    JobRunPolicy,
    OutboxPolicy,
    RecordAccessPolicy,
    RecordingAccessCodePolicy,
    RecordingPolicy,
    SessionNotePolicy,
)

ACTIONS = ("view", "create", "update", "delete")

POLICIES: dict[type, Policy] = {
    policy.model: policy
    for policy in (
        UserPolicy(), SpecialistProfilePolicy(), RatePolicy(), WorkingHoursPolicy(),
        ExceptionPolicy(), PackagePolicy(), EnrolmentPolicy(), BookingPolicy(), BookingStatusHistoryPolicy(),
        CancellationPolicy(), RecurringPolicy(), RecurringSkipPolicy(), SessionNotePolicy(),
        AmendmentPolicy(), RecordingPolicy(), RecordingAccessCodePolicy(), AuditLogPolicy(), ApiTokenPolicy(),
        OutboxPolicy(), JobRunPolicy(), RecordAccessPolicy(), ErasureRequestPolicy(), ServicePolicy(),
        PackageServicePolicy(), IntakeFormPolicy(), IntakeResponsePolicy(), ConsentTermsPolicy(), ConsentPolicy(),
    )
}


def policy_for(model: type) -> Policy:
    return POLICIES[model]


def _signed_in(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)


# What a stranger (signed out, or a deactivated account) may see: the clinic's front door, that is
# active specialists (UserPolicy with no user), active packages (PackagePolicy with no user) and the
# clinic's terms.
PUBLIC_MODELS = frozenset({BookingPackage, ConsentTerms, User})


def visible(model: type, user) -> sa.ColumnElement:
    """WHERE clause limiting a query on `model` to what `user` may see."""
    policy = policy_for(model)
    if not _signed_in(user) and model not in PUBLIC_MODELS:
        return sa.false()
    return policy.visible(user if _signed_in(user) else None)


def can(action: str, user, row: Any) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not _signed_in(user):
        return action == "view" and type(row) in PUBLIC_MODELS and policy_for(type(row)).view(None, row)
    return bool(getattr(policy_for(type(row)), action)(user, row))


def can_cancel(user, booking: Booking, *, as_staff: bool = False) -> bool:
    """May `user` cancel `booking` (whatever its status or time)? With `as_staff`,
    admins may too (the pages); without it, only the parties (the spec's function)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    policy = POLICIES[BookingCancellation]
    return policy.cancel(user, booking) or (as_staff and policy.cancel_for_parties(user, booking))


def _active(user) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)


def can_reschedule(user, booking: Booking) -> bool:
    """May `user` move `booking` (whatever its status or time)? Its parties and admins."""
    return _active(user) and POLICIES[Booking].reschedule(user, booking)


def can_mark_attendance(user, booking: Booking) -> bool:
    """May `user` record whether the patient came? The specialist and admins."""
    return _active(user) and POLICIES[Booking].mark_attendance(user, booking)


def may_book_for_others(user) -> bool:
    """Staff who book clients in: admins (any calendar) and specialists (their own)."""
    return _active(user) and user.role in (Role.ADMIN, Role.SPECIALIST)
