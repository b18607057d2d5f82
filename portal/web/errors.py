"""Error pages in the portal's layout, and JSON errors for API clients."""
from __future__ import annotations

import logging

import sentry_sdk
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from portal.errors import FORBIDDEN_MESSAGE, NOT_FOUND_MESSAGE, ServiceError
from portal.web.refusals import note_refusal

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/functions/")

CODES = {
    400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "TOO_LARGE", 415: "INVALID_REQUEST",
    422: "INVALID_REQUEST", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 503: "UNAVAILABLE",
}

MESSAGES = {
    400: "The request could not be understood.",
    401: "Sign in to continue.",
    403: FORBIDDEN_MESSAGE,
    404: NOT_FOUND_MESSAGE,
    405: "That method is not allowed here.",
    413: "The upload is too large.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. The team has been told.",
    503: "The service is temporarily unavailable.",
}


BUSY_MESSAGE = "The portal is very busy. Nothing was changed: please try again in a moment."
BUSY_RETRY_AFTER = 2
# The connection was cut (the database restarted): the pool has let go of every connection and
# the next request opens new ones. Whether a write in flight was kept is not known here.
DISCONNECTED_MESSAGE = "The portal could not reach its database. Please reload the page in a moment."

CSRF_MESSAGE = "This form has expired or did not come from the portal. Reload the page and try again."


def wants_json() -> bool:
    return request.path.startswith(API_PREFIXES)


def json_error(status: int, code: str | None = None, message: str | None = None, fields: dict | None = None):
    body = {
        "success": False,
        "error": code or CODES.get(status, "ERROR"),
        "message": message or MESSAGES.get(status, "Request failed."),
        "fields": fields or {},
    }
    response = jsonify(body)
    response.status_code = status
    return response


def error_page(status: int, message: str | None = None):
    return render_template("error.html", status=status, message=message or MESSAGES.get(status, "")), status


def validation_fields(data) -> dict | None:
    """webargs' messages ({"json": {...}, "query": {...}}) as one flat field -> errors dict."""
    if not isinstance(data, dict):
        return None
    nested = data.get("errors") or data.get("messages")
    if not isinstance(nested, dict):
        return None
    fields: dict = {}
    for location, errors in nested.items():
        if isinstance(errors, dict):
            fields.update(errors)  # webargs nests by location
        else:
            fields[location] = errors
    return fields or None


def is_database_busy(error: OperationalError) -> bool:
    """SQLite's writers queued past busy_timeout: the portal is busy, not broken."""
    return "database is locked" in str(getattr(error, "orig", error))


def _rollback_quietly() -> None:
    try:
        from portal.extensions import db

        db.session.rollback()
    except SQLAlchemyError:  # a dead connection: the error page needs no database
        log.warning("rollback after an unhandled error failed too", exc_info=True)


def configure_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        log.info("CSRF check failed on %s %s: %s", request.method, request.path, error.description)
        if wants_json():
            return json_error(400, "CSRF_FAILED", CSRF_MESSAGE)
        return error_page(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        if wants_json():
            fields = validation_fields(getattr(error, "data", None))
            http_status = 400 if status == 422 else status
            message = getattr(error, "description", None) if status not in (404, 500) else None
            if fields:
                message = "Some fields are invalid."
            return json_error(http_status, message=message if isinstance(message, str) else None, fields=fields)
        return error_page(status)

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        note_refusal(error)
        if wants_json():
            return json_error(error.http_status, error.code, error.message, error.fields)
        return error_page(error.http_status, error.message)

    @app.errorhandler(OperationalError)
    def handle_database_busy(error: OperationalError):
        if is_database_busy(error):
            log.warning("database busy past its timeout on %s %s", request.method, request.path)
            message = BUSY_MESSAGE
        elif error.connection_invalidated:
            log.warning("database connection lost on %s %s", request.method, request.path)
            message = DISCONNECTED_MESSAGE
        else:
            return handle_unexpected(error)
        _rollback_quietly()
        # The page is drawn without the database: loading the user again would wait as long again.
        g._login_user = current_app.login_manager.anonymous_user()
        response = make_response(json_error(503) if wants_json() else error_page(503, message))
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        # Our handler swallows the exception before Flask signals it, so Sentry is told here.
        sentry_sdk.capture_exception(error)
        _rollback_quietly()
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise error
        if wants_json():
            return json_error(500)
        return error_page(500)
