"""POST /functions/recurring-bookings-dispatcher: the spec's daily dispatcher, on demand.

Ops and admin only. Optional JSON body {"date": "YYYY-MM-DD"} (up to today in
PORTAL_TIMEZONE: a later date is refused, booking months ahead by a typo is not
a feature); any other body (a form post) answers 400. Answers the dispatcher's
result. The dispatcher commits per batch itself."""
from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_login import current_user

from portal.api.functions import DispatchRequestSchema, DispatchResultSchema, bp, json_body
from portal.models import Role
from portal.web.errors import json_error


@bp.route("/recurring-bookings-dispatcher", methods=["POST"])
@bp.doc(requestBody=json_body(DispatchRequestSchema, required=False))
@bp.response(200, DispatchResultSchema)
@bp.alt_response(400, response="DEFAULT_ERROR")  # INVALID_REQUEST: not JSON, or a bad or future date
@bp.alt_response(401, response="DEFAULT_ERROR")  # UNAUTHORIZED
@bp.alt_response(403, response="DEFAULT_ERROR")  # FORBIDDEN: neither ops nor admin
def recurring_bookings_dispatcher():
    """The spec's recurring-bookings-dispatcher, on demand: book every due occurrence.

    Who: ops and admins. Answers how many bookings were made, their ids, and
    one entry per occurrence not booked (`recurring_id`, `error`); one failing
    series never stops the others."""
    from portal.services.recurring import portal_today, recurring_dispatch

    if not current_user.is_authenticated:
        return json_error(401)
    if current_user.role not in (Role.ADMIN, Role.OPS):
        return json_error(403)
    if request.form or (request.data and not request.is_json):
        return json_error(400, message="Send a JSON object (Content-Type: application/json).")
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        return json_error(400, message="Send a JSON object.")
    try:
        run_date = date.fromisoformat(body["date"]) if body.get("date") else None
    except (TypeError, ValueError):
        return json_error(400, message="date must be YYYY-MM-DD.", fields={"date": "Use YYYY-MM-DD."})
    today = portal_today()
    if run_date is not None and run_date > today:
        return json_error(400, message=f"date must be today ({today.isoformat()}) or earlier.",
                          fields={"date": "Must not be after today."})
    return jsonify(recurring_dispatch(run_date=run_date, actor=current_user))
