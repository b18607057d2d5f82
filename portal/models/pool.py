"""Is a pooled connection still alive? Asked only of one that sat idle.

SQLAlchemy's `pool_pre_ping` asks on every checkout, one round trip before each transaction. A
busy process takes its connections back within milliseconds of returning them, so the question
is asked of a connection that was just working: a job's every transaction and each request paid
for it. Here a connection is pinged only when it sat in the pool for DATABASE_PING_AFTER_IDLE
seconds or more (0: always, as `pool_pre_ping`), which is when a server restart, a failover or a
firewall's idle timeout has had time to cut it. A dead one is replaced before use.

What is given up: a connection cut less than that many seconds after its last use (the database
restarted under load) fails on its first statement. SQLAlchemy then drops every connection of
that pool, and the request answers 503 (reload in a moment), not 500 (portal.web.errors)."""
from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

_IDLE_SINCE = "portal_idle_since"


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping `engine`'s connections on checkout when idle at least `idle_seconds`."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def idle_from_now(_dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def alive(dbapi_connection, record, _proxy):
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # just opened, or just used
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool closes this one and checks out another (a few tries, then raises).
                raise DisconnectionError("the pooled connection was closed") from error
            raise
