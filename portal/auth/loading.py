"""How a request finds its user: the session cookie, or a bearer token for the API."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, make_response, redirect, request, session, url_for
from flask_login import login_user
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db, htmx, login_manager
from portal.models import User
from portal.selectors.users import user_get
from portal.services.users import api_token_find, api_token_note_use, api_token_use_due
from portal.web.errors import json_error, wants_json
from portal.web.transactions import write_transaction

log = logging.getLogger(__name__)

# Bearer tokens open the JSON API and the functions only: a token on a page (the admin pages,
# /account/tokens where tokens are made) counts as signed out, so a stolen token cannot mint
# another one or act through the pages.
BEARER_PATHS = ("/api/v1/", "/functions/")


def configure_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(alternative_id: str):
        """`<user id>:<session version>` (User.get_id): a cookie from before the version was
        bumped (sign-out, new password, deactivation, "sign out everywhere") loads nobody."""
        user_id, _, version = (alternative_id or "").partition(":")
        user = user_get(user_id=user_id)
        if user is None or not user.is_active or version != str(user.session_version):
            return None
        return user

    @login_manager.request_loader
    def load_user_from_bearer(req):
        if not req.path.startswith(BEARER_PATHS):
            return None
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = api_token_find(token.strip())
        if row is None:
            return None
        user = row.user
        if api_token_use_due(row):
            _note_token_use(row.id)
        return user

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


def _note_token_use(token_id) -> None:
    """Commit last_used_at before the request's own work begins, in a transaction that takes the
    write lock (the request itself may only read). Best effort: a database busy past its
    timeout loses one note, never the request."""
    try:
        with write_transaction():
            api_token_note_use(token_id=token_id)
    except SQLAlchemyError:
        db.session.rollback()
        log.info("api token last_used_at not written: the database was busy")


def start_session(user: User, *, remember: bool = False) -> None:
    """A fresh session: nothing from before (not even the CSRF secret) is carried over."""
    session.clear()
    login_user(user, remember=remember)
