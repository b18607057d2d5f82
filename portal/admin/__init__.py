"""Admin and ops pages: the overview, audit log, cancellations, packages, users and the ops page."""
from portal.admin import audit, cancellations, invitations, operations, packages, users, views  # noqa: F401
from portal.admin.blueprint import bp

__all__ = ["bp"]
