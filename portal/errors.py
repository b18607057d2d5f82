"""Refusals every layer may raise: a stable code the API returns, a message for people.

The web app's error handlers answer them (portal.web.errors): a page in the
portal's layout, or the API's JSON error shape."""


NOT_FOUND_MESSAGE = "We could not find that page."
FORBIDDEN_MESSAGE = "You do not have permission to do that."


class ServiceError(Exception):
    """A refused action, with a stable code the API returns and a message for people."""

    code = "INVALID_REQUEST"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None,
                 http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status
        self.fields = fields or {}


class NotFound(ServiceError):
    code = "NOT_FOUND"
    http_status = 404


class Forbidden(ServiceError):
    code = "FORBIDDEN"
    http_status = 403


class Conflict(ServiceError):
    code = "CONFLICT"
    http_status = 409
