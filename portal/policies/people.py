"""Who may see and change people and what they publish: accounts, profiles, hours, rates,
exceptions and API tokens."""
from __future__ import annotations

import sqlalchemy as sa

from portal.models import (
    ApiToken,
    AvailabilityException,
    PackageService,
    Role,
    Service,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.policies.base import Policy, WrittenByServicesPolicy, is_admin, user_id


class UserPolicy(Policy):
    model = User

    def visible(self, user):
        if is_admin(user):
            return sa.true()
        # Everyone signed in may find specialists; other users see only themselves.
        return sa.or_(User.id == user_id(user), sa.and_(User.role == Role.SPECIALIST, User.is_active.is_(True)))

    def view(self, user, row):
        return is_admin(user) or row.id == user_id(user) or (row.role == Role.SPECIALIST and row.is_active)

    def update(self, user, row):
        return is_admin(user) or row.id == user_id(user)

    def delete(self, user, row):
        """Erasure (portal.services.erasure): an admin erases a patient, never a staff account
        (those are deactivated: their notes stay authored); the row itself stays, anonymised."""
        return is_admin(user) and row.role == Role.PATIENT


class SpecialistOwnedPolicy(Policy):
    """Public to signed-in users; the specialist manages their own, admin all."""

    def visible(self, user):
        return sa.true() if user_id(user) else sa.false()

    def view(self, user, row):
        return user_id(user) is not None

    def _owns(self, user, row) -> bool:
        return is_admin(user) or (
            user_id(user) is not None and user.role == Role.SPECIALIST and row.specialist_id == user_id(user)
        )

    create = update = delete = _owns


class SpecialistProfilePolicy(SpecialistOwnedPolicy):
    model = SpecialistProfile

    def _owns(self, user, row):
        return is_admin(user) or (user_id(user) is not None and row.id == user_id(user))

    create = update = _owns

    def delete(self, user, row):
        return is_admin(user)


class RatePolicy(SpecialistOwnedPolicy):
    model = SpecialistRate


class ServicePolicy(SpecialistOwnedPolicy):
    model = Service


class PackageServicePolicy(WrittenByServicesPolicy):
    """Which services a package pays for: public like the package; written only by service_update."""

    model = PackageService

    def visible(self, user):
        return sa.true() if user_id(user) else sa.false()

    def view(self, user, row):
        return user_id(user) is not None


class WorkingHoursPolicy(SpecialistOwnedPolicy):
    model = WorkingHours


class ExceptionPolicy(SpecialistOwnedPolicy):
    """Spec: specialist manages own, users view (for availability), admin all.

    Why a specialist is away (sick leave, personal) is theirs: everyone else
    sees only that the time is unavailable (`can_see_exception_reason`)."""

    model = AvailabilityException


def can_see_exception_reason(user, exception: AvailabilityException) -> bool:
    return is_admin(user) or (user_id(user) is not None and exception.specialist_id == user_id(user))


class ApiTokenPolicy(Policy):
    model = ApiToken

    def visible(self, user):
        return sa.true() if is_admin(user) else ApiToken.user_id == user_id(user)

    def view(self, user, row):
        return is_admin(user) or row.user_id == user_id(user)

    create = update = delete = view
