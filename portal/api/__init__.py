"""The JSON API under /api/v1 (flask-smorest: schemas validate input and
generate the OpenAPI document at /api/v1/openapi.json) and the spec's two
functions under /functions.

Clients authenticate with `Authorization: Bearer <token>` or a session.
The API is exempt from form CSRF tokens: it only accepts JSON bodies, which
a cross-site form cannot send, and session cookies are SameSite."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import current_user

from portal.extensions import api, csrf
from portal.web.blueprints import PUBLIC, SIGNED_IN, is_public
from portal.web.errors import json_error


def configure_api(app: Flask) -> None:
    from portal.api.common import ErrorSchema

    api.ERROR_SCHEMA = ErrorSchema  # document the errors in the shape portal.web.errors answers them
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]

    from portal.api import blueprints

    for bp in blueprints.all_blueprints():
        csrf.exempt(bp)
        if require_api_user not in bp.before_request_funcs.get(None, []):
            bp.before_request(require_api_user)  # once: create_app may run again (tests)
        if not hasattr(bp, "allowed_roles"):
            bp.allowed_roles = SIGNED_IN  # rows are scoped by policies; admin-only views say so
        api.register_blueprint(bp)
    if "api-docs" in app.blueprints:
        app.blueprints["api-docs"].allowed_roles = PUBLIC  # the OpenAPI document

    # The functions answer 401 themselves, in the spec's words, so they skip require_api_user.
    from portal.api import function_booking_cancel, recurring_dispatcher  # noqa: F401 (their routes)
    from portal.api.functions import bp as functions_bp

    csrf.exempt(functions_bp)
    api.register_blueprint(functions_bp)


def require_api_user():
    if request.method == "OPTIONS" or is_public(current_app.view_functions.get(request.endpoint)):
        return None
    if not current_user.is_authenticated:
        return json_error(401, "UNAUTHORIZED", "Authentication required.")
    return None
