"""A pooled connection is pinged only after sitting idle (portal.models.pool): a dead one is
replaced before use, a busy one costs no round trip, and one cut while busy answers 503, then
the next request is served again."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import create_app
from portal.extensions import db
from portal.web.errors import DISCONNECTED_MESSAGE
from tests.conftest import make_test_config, require_or_skip

BACKEND = sa.text("select pg_backend_pid()")


@contextmanager
def portal(database_url, instance_dir, idle_seconds: int) -> Iterator:
    """An app of its own, with a real pool (the test app shares one connection)."""
    if not database_url.startswith("postgres"):
        require_or_skip("REQUIRE_POSTGRES", "this test needs PostgreSQL (set DATABASE_URL)")
    app = create_app(make_test_config(database_url, instance_dir) | {"DATABASE_PING_AFTER_IDLE": idle_seconds},
                     instance_path=str(instance_dir))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def backend_of_next_transaction() -> int:
    with Session(db.engine) as session:
        return session.scalar(BACKEND)


def cut(pid: int, database_url: str) -> None:
    """Close the server's side of connection `pid`, as a restart would."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as other:
        other.execute("select pg_terminate_backend(%s)", (pid,))


def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(database_url, instance_dir, monkeypatch):
    with portal(database_url, instance_dir, idle_seconds=1):
        sent = []
        dialect = db.engine.dialect
        original = dialect.do_ping
        monkeypatch.setattr(dialect, "do_ping", lambda connection: sent.append(1) or original(connection))
        first = backend_of_next_transaction()
        assert [backend_of_next_transaction() for _ in range(5)] == [first] * 5
        assert sent == []  # back to back: no round trip before each
        time.sleep(1.2)
        assert backend_of_next_transaction() == first
        assert sent == [1]


def test_a_connection_cut_while_idle_is_replaced_before_use(_app, database_url, instance_dir):
    with portal(database_url, instance_dir, idle_seconds=0) as app:
        first = backend_of_next_transaction()
        cut(first, database_url)
        page = app.test_client().get("/specialists")
        assert page.status_code == 200
        assert backend_of_next_transaction() != first


def test_a_connection_cut_while_busy_answers_503_once_then_the_portal_serves_again(_app, database_url,
                                                                                   instance_dir):
    with portal(database_url, instance_dir, idle_seconds=3600) as app:
        client = app.test_client()
        cut(backend_of_next_transaction(), database_url)
        page = client.get("/specialists")
        assert page.status_code == 503
        assert DISCONNECTED_MESSAGE in page.get_data(as_text=True)
        assert "<h1>Please wait a moment</h1>" in page.get_data(as_text=True)
        assert client.get("/specialists").status_code == 200  # the pool let go of the dead connection
