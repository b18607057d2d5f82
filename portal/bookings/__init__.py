"""Pages about one booking, shared by its patient, its specialist and admins.
Access is per row, through the policy module."""
from portal.bookings.blueprint import bp
from portal.bookings import cancel, notes, recordings, views  # noqa: F401

__all__ = ["bp"]
