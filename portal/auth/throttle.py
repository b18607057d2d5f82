"""Sign-in throttling that cannot be turned against users.

Only failures count, per (account, address) pair and per address: colleagues signing in
from one clinic's address never lock each other out, and failing with someone's e-mail from
one address does not lock her out from another. A correct password from an address that has
not failed is never refused. The counters live in Flask-Limiter's storage (Redis in production);
when it cannot be reached, sign-ins go on unthrottled (logged) rather than nobody signing in."""
from __future__ import annotations

import logging
import math
import time

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from portal.extensions import limiter
from portal.services.users import normalize_email

log = logging.getLogger(__name__)


def _checks(email: str) -> list[tuple]:
    address = get_remote_address() or "unknown"
    config = current_app.config
    return [
        (parse(config["LOGIN_RATE_LIMIT"]), "login-fail-pair", address, normalize_email(email)),
        (parse(config["LOGIN_ADDRESS_RATE_LIMIT"]), "login-fail-address", address),
    ]


def login_wait_seconds(email: str) -> int:
    """Seconds until this address may try this account again; 0 when it may now (or when
    RATELIMIT_ENABLED is off)."""
    wait = 0
    if not limiter.enabled:
        return 0
    try:
        for item, *keys in _checks(email):
            if not limiter.limiter.test(item, *keys):
                reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
                wait = max(wait, math.ceil(reset_at - time.time()), 1)
    except Exception:  # noqa: BLE001 - redis errors and the like, whatever the storage
        log.warning("rate-limit storage unavailable; sign-in not throttled", exc_info=True)
        return 0
    return wait


def login_failed(email: str) -> None:
    if not limiter.enabled:
        return
    try:
        for item, *keys in _checks(email):
            limiter.limiter.hit(item, *keys)
    except Exception:  # noqa: BLE001
        log.warning("rate-limit storage unavailable; failed sign-in not counted", exc_info=True)


