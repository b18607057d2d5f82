"""How a request finds its user: the session cookie, or a bearer token for the API."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Flask, make_response, redirect, request, url_for

from portal.web.errors import json_error, wants_json
from portal.extensions import db, htmx, login_manager
from portal.models import User
from portal.services.users import api_token_user


def configure_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            user = db.session.get(User, uuid.UUID(user_id))
        except ValueError:
            return None
        return user if user is not None and user.is_active else None

    @login_manager.request_loader
    def load_user_from_bearer(req):
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return api_token_user(token.strip())

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return json_error(401, "UNAUTHORIZED", "Authentication required.")
        if htmx:
            # A redirect would be followed and the login page swapped into a fragment:
            # send the whole window to login, and back to the page (not the fragment) after.
            current = urlsplit(htmx.current_url or "")
            back = (current.path + (f"?{current.query}" if current.query else "")) or "/"
            return make_response("", 401, {"HX-Redirect": url_for("auth.login", next=back)})
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
