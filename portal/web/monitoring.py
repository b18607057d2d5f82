"""Sentry, when SENTRY_DSN is set. Events carry who (user id and role), never
what: note text, cancellation reasons, e-mails and passwords are scrubbed."""
from __future__ import annotations

import logging
import os
import re
import traceback

from flask import Flask

SCRUBBED_KEYS = {
    "reason", "notes", "follow_up_actions", "next_session_recommendation", "private_notes", "text", "metadata",
    "email", "password", "password_hash", "token", "authorization", "cookie", "csrf_token",
    "answers", "room_url", "join_url",
}
FILTERED = "[Filtered]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


# A database error's text quotes the data that failed: PostgreSQL's DETAIL (the failing row,
# a duplicate key's value), CONTEXT (the JSON being parsed), HINT and WHERE lines, a quoted
# input value in the first line, and SQLAlchemy's [parameters: ...] when they are not hidden.
DB_DETAIL = re.compile(r"\n(?:DETAIL|CONTEXT|HINT|WHERE|LINE \d+|QUERY):.*?(?=\n\[SQL: |\n\(Background on |\Z)", re.S)
DB_PARAMETERS = re.compile(r"\n\[parameters: .*?(?=\n\(Background on |\Z)", re.S)
DB_QUOTED_INPUT = re.compile(r'(: |Failing row contains )(["(]).*?(?=\n|\Z)')


def scrub_database_text(text):
    """`text` without the data a database error quotes (DETAIL, CONTEXT, the failing row)."""
    if not isinstance(text, str):
        return text
    text = DB_DETAIL.sub("\n[database detail filtered]", text)
    text = DB_PARAMETERS.sub("\n[parameters filtered]", text)
    return DB_QUOTED_INPUT.sub(r"\1[Filtered]", text) if _looks_like_database_error(text) else text


def _looks_like_database_error(text: str) -> bool:
    return "[SQL: " in text or "psycopg" in text or "sqlite3" in text or "database detail filtered" in text


class DatabaseErrorFilter(logging.Filter):
    """Strips database error text (DETAIL, CONTEXT, the failing row) from a log record:
    its message, its arguments and its formatted traceback. Never drops the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_database_scrubbed", False):
            return True
        record._database_scrubbed = True
        record.msg = scrub_database_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub_database_text(a) if isinstance(a, str) else
                                scrub_database_text(str(a)) if isinstance(a, Exception) else a for a in record.args)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub_database_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = scrub_database_text(record.exc_text)
        return True


DATABASE_ERROR_FILTER = DatabaseErrorFilter()


def install_database_error_filter() -> None:
    """Every log record passes the filter as it is made, whichever logger or handler takes it
    (a filter on one logger would miss records that other loggers propagate to the root)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_database_errors", False):
        return

    def make_record(*args, **kwargs):
        record = previous(*args, **kwargs)
        DATABASE_ERROR_FILTER.filter(record)
        return record

    make_record.scrubs_database_errors = True
    logging.setLogRecordFactory(make_record)


def _scrub(value):
    if isinstance(value, dict):
        return {k: (FILTERED if str(k).lower() in SCRUBBED_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _scrub_text(value):
    return EMAIL.sub(FILTERED, scrub_database_text(value)) if isinstance(value, str) else value


def _scrub_messages(event: dict) -> None:
    """E-mails can hide in exception messages and log lines: mask them there too."""
    for exception in (event.get("exception") or {}).get("values", []):
        exception["value"] = _scrub_text(exception.get("value"))
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            if "vars" in frame:
                frame["vars"] = _scrub(frame["vars"])
    if "message" in event:
        event["message"] = _scrub_text(event["message"])
    logentry = event.get("logentry") or {}
    for key in ("message", "formatted"):
        if key in logentry:
            logentry[key] = _scrub_text(logentry[key])
    if "params" in logentry:
        logentry["params"] = FILTERED
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb["message"] = _scrub_text(crumb.get("message"))


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry before_send: keep ids and roles, drop health data and credentials."""
    request = event.get("request") or {}
    if "data" in request:
        request["data"] = FILTERED
    request.pop("cookies", None)
    request["query_string"] = _scrub_text(request.get("query_string"))
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
    _scrub_messages(event)
    return event


def _release_from_environment() -> str | None:
    """The deployed commit, as the usual hosts name it."""
    for name in ("GIT_SHA", "SOURCE_VERSION", "HEROKU_SLUG_COMMIT", "RENDER_GIT_COMMIT"):
        if os.environ.get(name):
            return os.environ[name]
    return None


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
        release=app.config.get("SENTRY_RELEASE") or _release_from_environment(),
        integrations=[FlaskIntegration(), RqIntegration(monitor_cron_jobs=True)],
        # No request bodies, no user details from integrations (we set id and role
        # ourselves), no frame locals (they may hold note text or a reason).
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        before_send=scrub_event,
        transport=transport or app.config.get("SENTRY_TRANSPORT"),
    )
    app.config["SENTRY_ENABLED"] = True


def tag_sentry_user(app: Flask) -> None:
    """Name the request's user (id and role) on its Sentry events. Registered after the hook that
    loads the user (portal.models.row_security), so as to read it, not load it first."""
    if not app.config.get("SENTRY_ENABLED"):
        return
    import sentry_sdk

    @app.before_request
    def tag_user():
        from flask_login import current_user

        if current_user.is_authenticated:
            sentry_sdk.set_user({"id": str(current_user.id), "role": current_user.role})
