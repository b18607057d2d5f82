"""The list of API blueprints. Each feature adds its module here."""
from __future__ import annotations


def all_blueprints():
    from portal.api import (
        audit,
        booking_changes,
        booking_rules,
        bookings,
        cancellation_window,
        enrolments,
        exceptions,
        hours,
        intake,
        me,
        notes,
        packages,
        recordings,
        recurring,
        rights,
        services,
    )

    return [me.blp, hours.blp, bookings.blp, exceptions.blp, packages.blp, notes.blp, recordings.blp,
            audit.blp, recurring.blp, booking_rules.blp, enrolments.blp, cancellation_window.blp,
            rights.blp, rights.admin_blp, booking_changes.blp, services.blp,
            intake.blp]
