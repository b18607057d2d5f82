"""Role blueprints: one guard per blueprint, so no route can forget it."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from portal.extensions import login_manager
from portal.models import Role


def role_blueprint(name: str, import_name: str, *roles: Role, url_prefix: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.allowed_roles = roles  # read by the role-by-endpoint test

    @bp.before_request
    def require_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)

    return bp
