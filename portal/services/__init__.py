"""Business rules as plain functions. They flush but never commit: the request,
job or CLI command that calls them owns the one commit or rollback."""


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


def load_visible(model: type, row_id, actor, what: str, **details):
    """The row the actor may see, or NotFound("No such <what>.") for the service's caller."""
    from portal import policies

    row = policies.find_visible(model, row_id, actor)
    if row is None:
        raise NotFound(f"No such {what}.", **details)
    return row
