"""/api/v1/specialists/<id>/late-cancellation: a specialist's late-cancellation notice window."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal import policies
from portal.api.common import Blueprint
from portal.extensions import db
from portal.models import SpecialistProfile
from portal.services.cancellation_window import late_cancel_window_set

blp = Blueprint("api_late_cancellation", __name__, url_prefix="/api/v1/specialists",
                description="Specialists' late-cancellation notice windows")


class WindowSchema(ma.Schema):
    specialist_id = ma.fields.UUID(dump_only=True, attribute="id")
    late_cancel_notice_hours = ma.fields.Raw(required=True, metadata={
        "type": "integer", "minimum": 0, "maximum": 720,
        "description": "A cancellation with less notice than this is late (0: no window)"})


@blp.route("/<uuid:specialist_id>/late-cancellation")
@blp.response(200, WindowSchema)
def get_window(specialist_id):
    return policies.load(SpecialistProfile, specialist_id, current_user, missing="No such specialist.")


@blp.route("/<uuid:specialist_id>/late-cancellation", methods=["PUT"])
@blp.arguments(WindowSchema)
@blp.response(200, WindowSchema)
def put_window(data, specialist_id):
    """The specialist (or an admin) sets the window."""
    profile = late_cancel_window_set(actor=current_user, specialist_id=specialist_id,
                                     hours=data["late_cancel_notice_hours"])
    db.session.commit()
    return profile
