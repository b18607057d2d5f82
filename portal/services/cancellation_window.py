"""The late-cancellation notice window each specialist sets: hours before a
session inside which a cancellation is recorded as late (0: no window)."""
from __future__ import annotations

from portal import policies
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import SpecialistProfile, User
from portal.services.audit import audit_record

MAX_HOURS = 720
DEFAULT_HOURS = 24


def clean_hours(value) -> int:
    """A whole number of hours, 0 to 720, or ServiceError naming the field."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) > MAX_HOURS:
        raise ServiceError(f"Give a whole number of hours from 0 to {MAX_HOURS} (0: no window).",
                           fields={"late_cancel_notice_hours": f"A whole number from 0 to {MAX_HOURS}."})
    return int(text)


def late_cancel_window_set(*, actor: User, specialist_id, hours) -> SpecialistProfile:
    """Set a specialist's notice window (the specialist themself or an admin)."""
    profile = policies.load(SpecialistProfile, specialist_id, actor, action="update", missing="No such specialist.",
                            refused="You may only change your own notice window.")
    value = clean_hours(hours)
    old = profile.late_cancel_notice_hours
    if value != old:
        profile.late_cancel_notice_hours = value
        db.session.flush()
        audit_record(actor=actor, action="late_cancel_window_updated", entity_type="specialist_profile",
                     entity_id=profile.id, old_values={"late_cancel_notice_hours": old},
                     new_values={"late_cancel_notice_hours": value})
    return profile
