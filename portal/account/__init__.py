"""Your own account: name, time zone, password, API tokens (every signed-in role); a patient's
data, who has looked at their record, and erasure."""
from portal.account import rights, views  # noqa: F401
from portal.account.blueprint import bp

__all__ = ["bp"]
