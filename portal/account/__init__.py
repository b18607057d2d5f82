"""Your own account: name, time zone, password, API tokens (every signed-in role)."""
from portal.account import views  # noqa: F401
from portal.account.blueprint import bp

__all__ = ["bp"]
