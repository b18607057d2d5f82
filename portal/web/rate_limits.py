"""Rate limits on writes, counted in Flask-Limiter's storage (RATELIMIT_STORAGE_URI: Redis
when several processes serve the portal, as for the login limits).

- WRITE_RATE_LIMIT: every state-changing request (any method but GET, HEAD, OPTIONS), per
  signed-in user and, for an API token, per token too; per address when signed out.
- BOOKING_RATE_LIMIT: booking creation, per patient booked (admins are not limited by it).
- PUBLIC_READ_RATE_LIMIT: a signed-out read of a public route (the directory pages, the API's
  public reads), per address.

Signed-in reads are never limited. Over a limit the API answers 429 {"error": "RATE_LIMITED"} with
Retry-After; a page gets a calm message (htmx: in the page's notice region)."""
from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, current_app, make_response, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from portal.extensions import htmx, limiter
from portal.web.blueprints import is_public
from portal.web.errors import error_page, json_error, wants_json

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOTICE_TARGET = "#rate-notice"
# Blueprints of public pages whose signed-out reads count against PUBLIC_READ_RATE_LIMIT (the sign-in
# pages have their own limits on failures).
PUBLIC_PAGE_BLUEPRINTS = frozenset({"specialists"})


def calm_message(retry_after: int) -> str:
    wait = "a minute" if retry_after >= 45 else f"{retry_after} second{'s' if retry_after != 1 else ''}"
    return f"That was a lot of changes in a short time. Nothing is lost: please wait {wait} and try again."


def over_limit(setting: str, scope: str, *keys: str) -> int | None:
    """Count this request against `setting` for each key; the seconds to wait when any is over.

    When the storage cannot be reached the request goes through (logged): an outage of the
    counters must not stop every write in the clinic. With RATELIMIT_ENABLED off, nothing is counted."""
    if not limiter.enabled:
        return None
    strategy = limiter.limiter
    try:
        for item in parse_many(current_app.config[setting]):
            for key in keys:
                if not strategy.hit(item, scope, key):
                    reset_at, _ = strategy.get_window_stats(item, scope, key)
                    return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # noqa: BLE001 - redis errors and the like, whatever the storage
        log.warning("rate-limit storage unavailable; %s not counted", scope, exc_info=True)
    return None


def writer_keys() -> list[str]:
    if not current_user.is_authenticated:
        return [f"address:{get_remote_address()}"]
    keys = [f"user:{current_user.id}"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        keys.append("token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32])
    return keys


def booking_rate_limited(*, actor, patient) -> int | None:
    """Count a booking attempt for `patient`; the seconds to wait when over BOOKING_RATE_LIMIT."""
    if actor.role == "admin":
        return None
    return over_limit("BOOKING_RATE_LIMIT", "booking", f"patient:{patient.id}")


def too_many_response(retry_after: int):
    """429 for the API (our JSON shape), an htmx request (the notice region) or a plain form post."""
    message = calm_message(retry_after)
    if wants_json():
        response = json_error(429, "RATE_LIMITED", message)
    elif htmx and not htmx.history_restore_request:
        response = make_response(f'<p class="flash flash-warning" role="status">{message}</p>', 429)
        response.headers.update({"HX-Retarget": NOTICE_TARGET, "HX-Reswap": "innerHTML"})
    else:
        response = make_response(error_page(429, message))
    response.headers["Retry-After"] = str(retry_after)
    return response


def _stranger_reading_public_route(app: Flask) -> bool:
    if current_user.is_authenticated or request.endpoint in (None, "static"):
        return False
    return is_public(app.view_functions.get(request.endpoint)) or request.blueprint in PUBLIC_PAGE_BLUEPRINTS


def configure_rate_limits(app: Flask) -> None:
    @app.before_request
    def limit_writes():
        if request.method in READ_METHODS:
            if not _stranger_reading_public_route(app):
                return None
            retry_after = over_limit("PUBLIC_READ_RATE_LIMIT", "public-read", f"address:{get_remote_address()}")
        elif request.endpoint in (None, "static"):
            return None
        else:
            retry_after = over_limit("WRITE_RATE_LIMIT", "write", *writer_keys())
        return too_many_response(retry_after) if retry_after else None
