"""GET /api/v1/me: who the token or session belongs to."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint

blp = Blueprint("api_me", __name__, url_prefix="/api/v1/me", description="The caller's own account")


class MeSchema(ma.Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    role = ma.fields.String()
    display_name = ma.fields.String()
    timezone = ma.fields.String()


@blp.route("")
@blp.response(200, MeSchema)
def me():
    return current_user
