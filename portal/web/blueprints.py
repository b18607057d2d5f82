"""Who may open a route: one guard, on a whole role blueprint or on one view.

Blueprints and views carry `allowed_roles` (and views `deny_status`), read by the
role-by-endpoint test, so no route escapes it and no list is kept by hand."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user

from portal.extensions import login_manager
from portal.models import ROLES, Role

SIGNED_IN = ROLES
PUBLIC = ("anonymous", *ROLES)


def refuse_unless(roles: Iterable[Role], deny_status: int = 403):
    """The sign-in page for an anonymous visitor, `deny_status` for a role not in `roles`,
    None for a role that may pass."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role not in roles:
        abort(deny_status)
    return None


def role_blueprint(name: str, import_name: str, *roles: Role, url_prefix: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.allowed_roles = roles
    bp.before_request(lambda: refuse_unless(roles))
    return bp


def roles_required(*roles: Role, deny_status: int = 403) -> Callable:
    """For a view that only some of its blueprint's roles may open."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return refuse_unless(roles, deny_status) or view(*args, **kwargs)

        wrapped.allowed_roles = roles
        wrapped.deny_status = deny_status
        return wrapped

    return decorator


def public_read(view):
    """A read anyone may make, signed in or not, on a blueprint that otherwise wants a user (the
    API's package, service, specialist and slot reads). Signed-out, it is counted against
    PUBLIC_READ_RATE_LIMIT per address (portal.web.rate_limits)."""
    view.allowed_roles = PUBLIC
    view.public_read = True
    return view


def is_public(view) -> bool:
    """A view of a public blueprint, or one marked `public_read`."""
    return getattr(view, "public_read", False)
