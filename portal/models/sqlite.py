"""SQLite settings for the embedded default."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event


def configure_sqlite(app: Flask) -> None:
    from portal.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if not str(engine.url).endswith(":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # Let SQLAlchemy, not the sqlite3 module, say where transactions begin:
        # pysqlite's own handling skips BEGIN before reads and breaks SAVEPOINTs
        # (a nested "commit" would really commit).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN")
