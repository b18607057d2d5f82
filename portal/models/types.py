"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.mutable import MutableDict


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite hands back naive datetimes and PostgreSQL aware ones; normalising
    here keeps time-zone bugs from differing per database.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = MutableDict.as_mutable(sa.JSON().with_variant(postgresql.JSONB(), "postgresql"))
PlainJSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    from portal import clock

    return clock.now()


def new_id() -> uuid.UUID:
    # Made in Python, not by the server, so bulk inserts can batch.
    return uuid.uuid4()
