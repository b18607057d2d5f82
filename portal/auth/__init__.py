"""Signing in and out, and loading the user from a session or a bearer token."""
from portal.auth import accounts, views  # noqa: F401
from portal.auth.blueprint import bp

__all__ = ["bp"]
