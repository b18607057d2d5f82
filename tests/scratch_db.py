"""Throwaway PostgreSQL databases beside the one DATABASE_URL names, for the
test suite and the benchmarks: each run gets its own, so parallel runs never
collide, and drops it afterwards (WITH FORCE: a leaked connection must not
keep it alive)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


def psycopg_url(url: str) -> sa.engine.URL:
    """DATABASE_URL as SQLAlchemy's psycopg 3 URL (Heroku-style "postgres://" included)."""
    return sa.engine.make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql+psycopg")


def _admin(url: sa.engine.URL) -> sa.engine.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def create(url: str, prefix: str, *, template: str | None = None) -> str:
    """Make a new, empty (or `template`-copied) database; return its URL."""
    base = psycopg_url(url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    """Drop the database `url` names."""
    target = psycopg_url(url)
    admin = _admin(target)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def scratch_database(url: str, prefix: str, *, template: str | None = None,
                     keep: bool = False) -> Iterator[str]:
    """A scratch database's URL for the block; dropped afterwards unless `keep`."""
    scratch = create(url, prefix, template=template)
    try:
        yield scratch
    finally:
        if not keep:
            drop(scratch)
