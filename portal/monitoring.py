"""Sentry, when SENTRY_DSN is set. Events carry who (user id and role), never
what: note text, cancellation reasons, e-mails and passwords are scrubbed."""
from __future__ import annotations

from flask import Flask

SCRUBBED_KEYS = {
    "reason", "notes", "follow_up_actions", "next_session_recommendation", "text", "metadata",
    "email", "password", "password_hash", "token", "authorization", "cookie", "csrf_token",
}
FILTERED = "[Filtered]"


def _scrub(value):
    if isinstance(value, dict):
        return {k: (FILTERED if str(k).lower() in SCRUBBED_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry before_send: keep ids and roles, drop health data and credentials."""
    request = event.get("request") or {}
    if "data" in request:
        request["data"] = FILTERED
    request.pop("cookies", None)
    if "headers" in request:
        request["headers"] = _scrub(request["headers"])
    user = event.get("user") or {}
    event["user"] = {k: v for k, v in user.items() if k in ("id", "role")}
    for key in ("extra", "contexts", "tags"):
        if key in event:
            event[key] = _scrub(event[key])
    # Local variables of stack frames hold whatever the code held (a reason, a note): drop them.
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        if "data" in crumb:
            crumb["data"] = _scrub(crumb["data"])
    return event


def init_sentry(app: Flask, transport=None) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("ENV_NAME"),
        release=app.config.get("SENTRY_RELEASE"),
        integrations=[FlaskIntegration(), RqIntegration()],
        send_default_pii=False,
        before_send=scrub_event,
        transport=transport or app.config.get("SENTRY_TRANSPORT"),
    )
    app.config["SENTRY_ENABLED"] = True

    @app.before_request
    def tag_user():
        from flask_login import current_user

        if current_user.is_authenticated:
            sentry_sdk.set_user({"id": str(current_user.id), "role": current_user.role})
