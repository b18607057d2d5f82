"""Admin and ops pages: the overview, audit log, cancellations, packages, users and the ops page."""
from portal.admin import (  # noqa: F401
    audit,
    bookings,
    cancellations,
    erasure,
    invitations,
    operations,
    outbox,
    packages,
    users,
    views,
)
from portal.admin.blueprint import bp

__all__ = ["bp"]
