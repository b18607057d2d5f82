"""The list of API blueprints. Each feature adds its module here."""
from __future__ import annotations


def all_blueprints():
    from portal.api import (
        audit,
        booking_rules,
        bookings,
        cancellation_window,
        enrolments,
        exceptions,
        hours,
        me,
        notes,
        packages,
        recordings,
        recurring,
        services,
    )

    return [me.blp, hours.blp, bookings.blp, exceptions.blp, packages.blp, notes.blp, recordings.blp,
            audit.blp, recurring.blp, booking_rules.blp, enrolments.blp, cancellation_window.blp,
            services.blp]
