"""Pages for recurring series: patients manage their own, specialists see the
series with them, admins see all (rows scoped by portal.policies)."""
from portal.recurring.blueprint import bp
from portal.recurring import views  # noqa: F401

__all__ = ["bp"]
