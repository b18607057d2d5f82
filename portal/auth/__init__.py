"""Signing in and out, and loading the user from a session or a bearer token."""
from portal.auth.blueprint import bp
from portal.auth import views  # noqa: F401

__all__ = ["bp"]
