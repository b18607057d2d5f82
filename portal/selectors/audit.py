"""Reading the audit trail: filters, keyset pages newest first, and a streamed walk.

Pages are cut on (created_at, id) rather than OFFSET, so page 10,000 costs
what page 1 costs: every filter has an index that starts with its column and
ends with (created_at, id) (see portal/models/audit.py)."""
from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from portal.errors import ServiceError
from portal.extensions import db
from portal.models import AuditLog, User

PAGE_SIZE = 50
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor_id: uuid.UUID | None = None
    actor_ids: tuple[uuid.UUID, ...] | None = None  # any of these (a name several people share)
    system_actor: bool = False  # rows written by scheduled jobs (no actor)
    entity_type: str | None = None
    entity_id: str | None = None
    status: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def where(self) -> list[sa.ColumnElement]:
        clauses = []
        for column, value in ((AuditLog.action, self.action), (AuditLog.entity_type, self.entity_type),
                              (AuditLog.entity_id, self.entity_id), (AuditLog.status, self.status),
                              (AuditLog.actor_id, self.actor_id)):
            if value not in (None, ""):
                clauses.append(column == value)
        if self.actor_ids is not None:
            clauses.append(AuditLog.actor_id.in_(self.actor_ids))
        if self.system_actor:
            clauses.append(AuditLog.actor_id.is_(None))
        if self.since is not None:
            clauses.append(AuditLog.created_at >= self.since)
        if self.until is not None:
            clauses.append(AuditLog.created_at < self.until)
        return clauses

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", False)}


class InvalidCursor(ServiceError):
    code = "INVALID_CURSOR"


def encode_cursor(row: AuditLog) -> str:
    raw = f"{row.created_at.astimezone(UTC).isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, row_id = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive cursor")
        return created_at, uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise InvalidCursor("The page cursor is not valid.", fields={"cursor": "Invalid cursor."}) from error


def _after(cursor: tuple[datetime, uuid.UUID]) -> sa.ColumnElement:
    created_at, row_id = cursor
    # A row comparison: PostgreSQL walks the (..., created_at, id) index from the cursor.
    return sa.tuple_(AuditLog.created_at, AuditLog.id) < sa.tuple_(
        sa.literal(created_at, AuditLog.created_at.type), sa.literal(row_id, AuditLog.id.type)
    )


def _newest_first(filters: AuditFilters, cursor: tuple | None, limit: int, *, rows_only: bool = False) -> sa.Select:
    # rows_only: plain rows, not ORM objects (exports need no identity map, and build faster)
    query = sa.select(*AuditLog.__table__.columns) if rows_only else sa.select(AuditLog)
    query = query.where(*filters.where())
    if cursor is not None:
        query = query.where(_after(cursor))
    return query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit)


def audit_page(filters: AuditFilters, *, cursor: str | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[AuditLog], str | None]:
    """One page of rows newest first, and the cursor of the next page (None at the end)."""
    position = decode_cursor(cursor) if cursor else None
    rows = list(db.session.scalars(_newest_first(filters, position, limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def audit_walk(filters: AuditFilters, *, chunk: int = 2000) -> Iterator[sa.Row]:
    """Every matching row (as a plain row), newest first, read a chunk at a time (for exports)."""
    position = None
    while True:
        rows = list(db.session.execute(_newest_first(filters, position, chunk, rows_only=True)))
        yield from rows
        if len(rows) < chunk:
            return
        position = (rows[-1].created_at, rows[-1].id)


MAX_NAMED_ACTORS = 50


def actors_named(text: str) -> tuple[uuid.UUID, ...]:
    """The ids of the people whose name contains `text` (case aside), for the actor filter."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return tuple(db.session.scalars(sa.select(User.id).where(User.display_name.ilike(pattern, escape="\\"))
                                    .order_by(User.id).limit(MAX_NAMED_ACTORS)))


def actor_names(rows: list[AuditLog]) -> dict[uuid.UUID, str]:
    """Display names of the actors on a page, in one query."""
    ids = {row.actor_id for row in rows if row.actor_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(ids))).all())


_DISTINCT_ACTIONS = sa.text("""
    WITH RECURSIVE seen(action) AS (
        SELECT min(action) FROM audit_logs
        UNION ALL
        SELECT (SELECT min(a.action) FROM audit_logs a WHERE a.action > seen.action)
        FROM seen WHERE seen.action IS NOT NULL
    )
    SELECT action FROM seen WHERE action IS NOT NULL LIMIT 200
""")


def audit_actions() -> list[str]:
    """The distinct actions, for the filter's suggestions. A loose index scan (one
    index probe per action) rather than DISTINCT, which reads every row."""
    return list(db.session.scalars(_DISTINCT_ACTIONS))


def audit_diff(row: AuditLog) -> list[dict]:
    """Old and new values key by key, with the keys whose value changed marked."""
    old, new = row.old_values or {}, row.new_values or {}
    keys = list(dict.fromkeys([*old.keys(), *new.keys()]))
    return [
        {"key": key, "old": old.get(key), "new": new.get(key), "in_old": key in old, "in_new": key in new,
         "changed": key not in old or key not in new or old[key] != new[key]}
        for key in keys
    ]
