"""Request size and input bounds, checked before any view (or CSRF) reads a body.

- Size: every route accepts MAX_REQUEST_BYTES (1 MB by default); only the recording upload
  routes accept MAX_UPLOAD_BYTES, streamed into the encrypted spool. A WSGI middleware answers
  413 from the Content-Length before Flask reads a byte; a body of unknown length (chunked) is
  cut at the same limit by Werkzeug, which reads `PortalRequest.max_content_length`.
- Text: no query-string value, form field or JSON string may hold NUL or another control
  character (tab, newline and carriage return excepted; single-line fields refuse those in
  their own validators), and no query-string value may be longer than MAX_QUERY_VALUE.
  PostgreSQL cannot store NUL, and its error would otherwise be a 500. A page whose view reads
  its form through portal.web.forms.PortalForm answers these itself, in the form (422).
- JSON: a body that is not JSON, nests deeper than MAX_JSON_DEPTH or holds an integer longer than
  Python converts (4,300 digits) is refused here on every route, PortalForm pages included
  (Flask-WTF reads a JSON body as form data): parsing it later would raise a RecursionError or
  a ValueError no view expects.
"""
from __future__ import annotations

import json

from flask import Flask, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from portal.domain.inputs import (
    MAX_JSON_DEPTH,
    MAX_QUERY_VALUE,
    control_chars_at,
    has_control_chars,
    json_too_deep,
)

# Endpoints that take a recording as multipart/form-data.
UPLOAD_ENDPOINTS = frozenset({"api_recordings.upload_recording", "bookings.recording_upload"})
LIMIT_KEY = "portal.max_content_length"
API_PREFIXES = ("/api/", "/functions/")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_limit(app: Flask, environ: dict) -> int:
    """The largest body this request may send: the upload limit for a multipart upload route."""
    if "multipart/form-data" in environ.get("CONTENT_TYPE", ""):
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match(method=environ.get("REQUEST_METHOD"))
        except (NotFound, RequestRedirect, Exception):  # noqa: B014 -- any routing miss is "not an upload"
            endpoint = None
        if endpoint in UPLOAD_ENDPOINTS:
            return app.config["MAX_UPLOAD_BYTES"]
    return app.config["MAX_REQUEST_BYTES"]


def _too_large(environ: dict, limit: int) -> Response:
    message = f"The request is too large (at most {limit} bytes here)."
    if environ.get("PATH_INFO", "").startswith(API_PREFIXES):
        body = json.dumps({"success": False, "error": "TOO_LARGE", "message": message, "fields": {}})
        response = Response(body, status=413, mimetype="application/json")
    else:
        response = Response(f"<!doctype html><title>Too large</title><h1>Request too large</h1><p>{message}</p>",
                            status=413, mimetype="text/html")
    response.headers["Connection"] = "close"  # the unread body is not worth draining
    return response


class RequestSizeLimit:
    """WSGI middleware: 413 for a declared Content-Length over the route's limit."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        limit = request_limit(self.app, environ)
        environ[LIMIT_KEY] = limit
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return _too_large(environ, limit)(environ, start_response)
        return self.wsgi_app(environ, start_response)


def _query_problem() -> str | None:
    for name, value in request.args.items(multi=True):
        if has_control_chars(name) or has_control_chars(value, multiline=True):
            return name if not has_control_chars(name) else "query"
        if len(value) > MAX_QUERY_VALUE:
            return name
    return None


class UnreadableJson(ValueError):
    """A JSON body no view could read safely; the message says why, for the client."""


def _json_body():
    """The request's JSON body parsed (None when empty), or UnreadableJson."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except UnicodeDecodeError as error:
        raise UnreadableJson("Send the JSON body in UTF-8.") from error
    except json.JSONDecodeError as error:
        raise UnreadableJson("The body is not valid JSON.") from error
    except ValueError as error:  # an integer longer than Python converts
        raise UnreadableJson("A number in the body has too many digits.") from error
    except RecursionError as error:
        raise UnreadableJson(f"Nest arrays and objects at most {MAX_JSON_DEPTH} levels deep.") from error
    if json_too_deep(body):
        raise UnreadableJson(f"Nest arrays and objects at most {MAX_JSON_DEPTH} levels deep.")
    return body


def _body_problem(json_body) -> str | None:
    if request.is_json:
        return control_chars_at(json_body)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if has_control_chars(name) or has_control_chars(value, multiline=True):
                return name if not has_control_chars(name) else "form"
        for name, upload in request.files.items(multi=True):
            if has_control_chars(name) or has_control_chars(upload.filename or "", multiline=False):
                return "file" if has_control_chars(name) else name
    return None


def _form_checks_text() -> bool:
    """The view reads its body through a form that answers bad text in place (portal.web.forms)."""
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "checks_own_text", False)


def refuse_bad_text():
    """Before CSRF and every view: 400 naming the field that holds a control character."""
    from portal.web.errors import error_page, json_error, wants_json

    field = _query_problem()
    try:
        json_body = _json_body() if request.method in BODY_METHODS and request.is_json else None
    except UnreadableJson as error:
        if wants_json():
            return json_error(400, "INVALID_REQUEST", str(error), {"json": str(error)})
        return error_page(400, str(error))
    if field is None and request.method in BODY_METHODS and not _form_checks_text():
        field = _body_problem(json_body)
    if field is None:
        return None
    field = field[:100]  # a name is echoed back: keep it short
    message = "Remove the control characters (such as NUL) from this value, or shorten it."
    if wants_json():
        return json_error(400, "INVALID_REQUEST", "Some fields are invalid.", {field: message})
    return error_page(400, f"The field “{field}” holds characters that are not allowed, or is too long.")


def configure_limits(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    app.wsgi_app = RequestSizeLimit(app, app.wsgi_app)
    # First of all before_request functions, so CSRF and the views see clean input only.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_bad_text)
