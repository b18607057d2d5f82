"""Pages about one booking, shared by its patient, its specialist and admins.
Access is per row, through the policy module."""
from portal.bookings import attendance, cancel, for_client, move, notes, recordings, views  # noqa: F401
from portal.bookings.blueprint import bp

__all__ = ["bp"]
