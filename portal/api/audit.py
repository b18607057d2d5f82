"""GET /api/v1/audit-logs: the audit trail for admins, newest first, cursor-paged."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint, BoundedDateTime, Text
from portal.errors import Forbidden
from portal.models import AUDIT_STATUSES, Role
from portal.policies import is_admin
from portal.selectors.audit import AuditFilters, audit_page

blp = Blueprint("api_audit", __name__, url_prefix="/api/v1/audit-logs",
                description="The audit trail (admins only)")


class AuditQuery(ma.Schema):
    action = Text(max_length=64)
    actor_id = ma.fields.UUID()
    entity_type = Text(max_length=64)
    entity_id = Text(max_length=64)
    status = ma.fields.String(validate=ma.validate.OneOf(AUDIT_STATUSES))
    from_ = BoundedDateTime(data_key="from", metadata={"description": "Inclusive lower bound."})
    to = BoundedDateTime(metadata={"description": "Exclusive upper bound."})
    cursor = Text(max_length=200,
                              metadata={"description": "next_cursor of the previous page."})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class AuditEntrySchema(ma.Schema):
    id = ma.fields.UUID()
    created_at = BoundedDateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    old_values = ma.fields.Dict(allow_none=True)
    new_values = ma.fields.Dict(allow_none=True)


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditPageSchema)
def audit_logs(args):
    """Audit entries matching the filters, newest first; pass next_cursor back as cursor."""
    if not is_admin(current_user):
        raise Forbidden("Only administrators may read the audit log.")
    filters = AuditFilters(
        action=args.get("action"), actor_id=args.get("actor_id"), entity_type=args.get("entity_type"),
        entity_id=args.get("entity_id"), status=args.get("status"), since=args.get("from_"),
        until=args.get("to"),
    )
    rows, next_cursor = audit_page(filters, cursor=args.get("cursor"), limit=args["limit"])
    return {"items": rows, "next_cursor": next_cursor}


audit_logs.allowed_roles = (Role.ADMIN,)  # read by the role-by-endpoint test; enforced above
