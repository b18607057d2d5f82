"""Code that may write says so before its transaction begins, so that SQLite can take its write
lock up front (portal.models.sqlite; the rule for requests is portal.web.transactions).

Jobs and commands run their work inside `intent_to_write()`. Everything else outside a request
(a test's own reads, a migration) begins as a plain reader, as before."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_writing: ContextVar[bool] = ContextVar("intent_to_write", default=False)


@contextmanager
def intent_to_write() -> Iterator[None]:
    """Transactions begun inside the block take the write lock when they begin."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def declared_writing() -> bool:
    return _writing.get()


def commit_as_written() -> None:
    """Commit, keeping what the session holds as it was written, for code about to use it (the
    answer with the booking just made, the outbox row just leased): the values are the
    transaction's own, not read back in another transaction after the commit."""
    from portal.extensions import db

    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
