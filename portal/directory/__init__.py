"""The clinic's front door: the directory of specialists, each one's page with services, packages
and a week of free times, and the review of a chosen time, open to anyone; booking it is for a
signed-in patient."""
from portal.directory import views  # noqa: F401 (its routes)
from portal.directory.blueprint import bp

__all__ = ["bp"]
