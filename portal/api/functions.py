"""The spec's edge functions as JSON endpoints under /functions.

Each function lives in its own module and adds its route to `bp`;
portal.api.configure_api imports them. `bp` is one of the API's own blueprints,
so the OpenAPI document at /api/v1/openapi.json describes the functions from
the same decorators that route them; their bodies are still read by hand, so
that their answers keep the spec's shape and codes."""
from __future__ import annotations

import marshmallow as ma

from portal.api.common import Blueprint
from portal.models import Role

bp = Blueprint("functions", __name__, url_prefix="/functions",
               description="The spec's edge functions: booking-cancel and recurring-bookings-dispatcher")
# Any signed-in role may call; each function checks rows through the policies.
bp.allowed_roles = tuple(Role)


class BookingCancelRequestSchema(ma.Schema):
    booking_id = ma.fields.UUID(required=True)
    reason = ma.fields.String(required=True, metadata={"description": "Why the session is cancelled (required)"})


class FunctionResultSchema(ma.Schema):
    """The spec's answer: {"success": true, "message"}."""

    success = ma.fields.Boolean(required=True)
    message = ma.fields.String(required=True)


class DispatchRequestSchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "Dispatch as of this day (YYYY-MM-DD, today or earlier in "
                                                  "the portal's zone); today when left out"})


class DispatchErrorSchema(ma.Schema):
    recurring_id = ma.fields.UUID(required=True)
    error = ma.fields.String(required=True, metadata={"description": "Why the occurrence was not booked, e.g. "
                                                                     "\"No rates found\""})


class DispatchResultSchema(FunctionResultSchema):
    """The spec's dispatcher summary."""

    count = ma.fields.Integer(required=True, metadata={"description": "How many bookings were made"})
    bookings = ma.fields.List(ma.fields.UUID(), required=True, metadata={"description": "The new bookings' ids"})
    errors = ma.fields.List(ma.fields.Nested(DispatchErrorSchema), required=True)


def json_body(schema: type[ma.Schema], *, required: bool = True) -> dict:
    """The document's requestBody for a JSON object read by the view itself."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}
