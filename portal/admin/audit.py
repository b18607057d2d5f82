"""The audit log browser (admins): filter, page newest first, open a row, export CSV."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, time, timedelta

from flask import Response, request, stream_with_context
from flask_login import current_user

from portal import clock
from portal.admin.blueprint import bp
from portal.domain.inputs import date_in_window
from portal.models import AUDIT_STATUSES, AuditLog, Role
from portal.policies import load
from portal.selectors.audit import (
    SYSTEM_ACTOR,
    AuditFilters,
    InvalidCursor,
    actor_names,
    actors_named,
    audit_actions,
    audit_diff,
    audit_page,
    audit_walk,
)
from portal.services.users import user_by_email
from portal.web.blueprints import roles_required
from portal.web.refusals import note_refusal
from portal.web.rendering import render_page, wants_fragment
from portal.web.templating import viewer_zone
from portal.web.validators import DateInWindow

FILTER_KEYS = ("action", "actor", "entity_type", "entity_id", "status", "from", "to")
CSV_COLUMNS = ("created_at", "id", "action", "status", "actor_id", "entity_type", "entity_id",
               "old_values", "new_values")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=viewer_zone())


def _parse_actor(value: str, errors: dict) -> dict:
    if not value:
        return {}
    if value.lower() == SYSTEM_ACTOR:
        return {"system_actor": True}
    try:
        return {"actor_id": uuid.UUID(value)}
    except ValueError:
        pass
    if "@" not in value:
        named = actors_named(value)
        if not named:
            errors["actor"] = f"No one is named like “{value}”. Give a name, an e-mail, a user id or 'system'."
        return {"actor_ids": named}  # none named: matches nothing
    user = user_by_email(value)
    if user is None:
        errors["actor"] = "No account has this e-mail. Give a name, an e-mail, a user id or 'system'."
        return {"actor_id": uuid.UUID(int=0)}  # matches nothing
    return {"actor_id": user.id}


def _parse_day(value: str, key: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[key] = "Use a date like 2026-11-25."
        return None
    if not date_in_window(day):
        errors[key] = DateInWindow.message
        return None
    return day


def filters_from_args(args) -> tuple[AuditFilters, dict, dict]:
    """The filters a query string asks for, the form's values, and errors per field. The page
    and its CSV export both read them here, so the export holds the rows the page lists."""
    values = {key: (args.get(key) or "").strip() for key in FILTER_KEYS}
    errors: dict = {}
    if values["status"] and values["status"] not in AUDIT_STATUSES:
        errors["status"] = "Unknown status."
        values["status"] = ""
    since, until = _parse_day(values["from"], "from", errors), _parse_day(values["to"], "to", errors)
    filters = AuditFilters(
        action=values["action"] or None, entity_type=values["entity_type"] or None,
        entity_id=values["entity_id"] or None, status=values["status"] or None,
        since=_local_midnight(since) if since else None,
        until=_local_midnight(until + timedelta(days=1)) if until else None,
        **_parse_actor(values["actor"], errors),
    )
    return filters, values, errors


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log():
    filters, values, errors = filters_from_args(request.args)
    cursor = request.args.get("cursor") or None
    try:
        rows, next_cursor = audit_page(filters, cursor=cursor)
    except InvalidCursor as error:
        note_refusal(error)
        errors["cursor"] = "That page link has expired; showing the newest rows."
        rows, next_cursor = audit_page(filters)
        cursor = None
    query = {k: v for k, v in values.items() if v}
    return render_page(
        "admin/audit.html", "audit_results", rows=rows, next_cursor=next_cursor, cursor=cursor,
        values=values, errors=errors, query=query, names=actor_names(rows), statuses=AUDIT_STATUSES,
        actions=[] if wants_fragment() else _with_chosen(audit_actions(), values["action"]),
    )


def _with_chosen(actions: list[str], chosen: str) -> list[str]:
    """The drop-down's actions, keeping one a link asked for that no row has (yet)."""
    return actions if not chosen or chosen in actions else sorted([*actions, chosen])


@bp.route("/audit/<uuid:entry_id>")
@roles_required(Role.ADMIN)
def audit_entry(entry_id):
    entry = load(AuditLog, entry_id, current_user)
    return render_page("admin/audit_entry.html", entry=entry, diff=audit_diff(entry),
                       names=actor_names([entry]))


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # A spreadsheet runs cells that start like a formula: keep them text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(filters: AuditFilters):
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    for count, row in enumerate(audit_walk(filters), start=1):
        writer.writerow([_csv_cell(getattr(row, column)) for column in CSV_COLUMNS])
        if count % 500 == 0:
            yield flush()
    yield flush()


@bp.route("/audit.csv")
@roles_required(Role.ADMIN)
def audit_csv():
    filters, _values, _errors = filters_from_args(request.args)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(_csv_lines(filters)), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                 "Cache-Control": "no-store"},
    )
