"""SQLite settings for the embedded default."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import event


def configure_sqlite(app: Flask, *, may_write: Callable[[], bool] = lambda: True) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that take the write lock when they
    begin whenever `may_write()` says they may write (portal.web.transactions decides)."""
    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        if not str(engine.url).endswith(":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # Let SQLAlchemy, not the sqlite3 module, say where transactions begin:
        # pysqlite's own handling skips BEGIN before reads and breaks SAVEPOINTs
        # (a nested "commit" would really commit).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # A deferred transaction that reads, then writes after another writer committed, is
        # refused at once: one that may write queues for the lock instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")
