"""POST /functions/booking-cancel: the spec's booking-cancel edge function.

JSON {"booking_id": UUID, "reason": text}, by session or bearer token. Answers
{"success": true, "message"} or {"success": false, "error": CODE, "message"}."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from portal.api.functions import BookingCancelRequestSchema, FunctionResultSchema, bp, json_body
from portal.errors import ServiceError
from portal.extensions import db
from portal.services.cancellations import (
    booking_cancel_and_commit,
    booking_cancel_refused,
    report_unexpected,
    success_message,
)
from portal.web.errors import json_error
from portal.web.refusals import note_refusal


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object with booking_id and reason.")
    missing = {name: "Required." for name in ("booking_id", "reason") if body.get(name) is None}
    if missing:
        raise ServiceError("booking_id and reason are required.", fields=missing)
    if not isinstance(body["booking_id"], str) or not isinstance(body["reason"], str):
        raise ServiceError("booking_id and reason must be strings.")
    return body


@bp.route("/booking-cancel", methods=["POST"])
@bp.doc(requestBody=json_body(BookingCancelRequestSchema))
@bp.response(200, FunctionResultSchema)
@bp.alt_response(400, response="DEFAULT_ERROR")  # INVALID_REQUEST: a missing or malformed field
@bp.alt_response(401, response="DEFAULT_ERROR")  # UNAUTHORIZED
@bp.alt_response(403, response="DEFAULT_ERROR")  # FORBIDDEN: not the caller's booking
@bp.alt_response(404, response="DEFAULT_ERROR")  # NOT_FOUND
@bp.alt_response(409, response="DEFAULT_ERROR")  # ALREADY_CANCELLED
@bp.alt_response(422, response="DEFAULT_ERROR")  # BOOKING_IN_PAST
@bp.alt_response(429, response="DEFAULT_ERROR")  # RATE_LIMITED
def booking_cancel_function():
    """The spec's booking-cancel: cancel a future booking with a reason.

    Who: the booking's patient or its specialist (admins cancel for the parties
    from the pages). Writes the cancellation, the status history and the audit
    row in one transaction. Errors:
    INVALID_REQUEST (400), UNAUTHORIZED (401), FORBIDDEN (403, someone else's
    booking), NOT_FOUND (404), ALREADY_CANCELLED (409), BOOKING_IN_PAST (422)."""
    if not current_user.is_authenticated:
        return json_error(401, "UNAUTHORIZED", "Authentication required.")
    booking_id = None
    try:
        body = _body()
        booking_id = body["booking_id"]
        terms = booking_cancel_and_commit(actor=current_user, booking_id=booking_id, reason=body["reason"])
    except ServiceError as error:
        note_refusal(error)
        booking_cancel_refused(actor=current_user, booking_id=booking_id, error=error)
        return json_error(error.http_status, error.code, error.message, error.fields)
    except Exception as error:  # noqa: BLE001 -- not the caller's fault: report with ids, answer 500
        db.session.rollback()
        report_unexpected(error, booking_id=booking_id, user_id=current_user.id)
        return json_error(500)
    return jsonify({"success": True, "message": success_message(terms)})
