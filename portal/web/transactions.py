"""Which of a request's transactions may write, so that SQLite can take its write lock up front.

SQLite lets one connection write at a time. A transaction begun with a plain BEGIN reads first
and asks for the write lock at its first write; if another writer committed meanwhile, SQLite
refuses at once ("database is locked"), whatever busy_timeout says. A transaction begun with
BEGIN IMMEDIATE takes the lock first and so waits its turn within busy_timeout. Reads stay
concurrent under WAL, so only transactions that may write should take the lock.

The rule, for every database (PostgreSQL ignores it, but the tests check it there too):
- jobs and commands declare it (portal.models.transactions.intent_to_write);
- in a request: an unsafe method (POST, PUT, PATCH, DELETE) may write, and so may a GET whose
  view is marked with `writes_on_get` (it spends a one-time code, confirms an address);
- anything else runs in `write_transaction()`, which ends the read and writes in a transaction
  of its own (an API token's last_used_at note).

A request outside the rule that writes anyway is logged, and refused in the tests
(STRICT_WRITE_INTENT), so a new GET that writes cannot slip through unmarked."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event

from portal.models.transactions import declared_writing, intent_to_write

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_STATEMENTS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
_MARK = "writes_on_get"

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable)


class UndeclaredWrite(RuntimeError):
    """A request wrote in a transaction that did not take SQLite's write lock when it began."""


def writes_on_get(view: F) -> F:
    """Mark a view whose GET writes: its request's transactions take the write lock."""
    setattr(view, _MARK, True)
    return view


def may_write() -> bool:
    """Whether a transaction beginning now may write (see the module's rule)."""
    if declared_writing():
        return True
    if not has_request_context():
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _MARK, False))


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction of its own that may write, inside a request that otherwise only reads.

    The read so far is ended first (a commit: it wrote nothing), the block's work is committed
    at its end, or rolled back if it raises."""
    from portal.extensions import db

    db.session.commit()
    with intent_to_write():
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


# A data-modifying CTE (models.bulk.write_together) writes too.
_WRITING_WITH = re.compile(r"\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b", re.I | re.S)


def _is_write(statement: str) -> bool:
    words = statement.lstrip().split(None, 1)
    return bool(words) and (words[0].upper() in WRITE_STATEMENTS or bool(_WRITING_WITH.match(statement)))


def configure_write_intent(app: Flask) -> None:
    """Watch every statement a request runs: a write outside the rule is logged (refused when
    STRICT_WRITE_INTENT is set, as in the tests)."""
    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    strict = app.config.get("STRICT_WRITE_INTENT", False)

    @event.listens_for(engine, "before_cursor_execute")
    def check_write_intent(_conn, _cursor, statement, _parameters, _context, _executemany):
        if has_request_context() and _is_write(statement) and not may_write():
            log.warning("%s %s wrote outside a write transaction", request.method, request.endpoint)
            if strict:
                raise UndeclaredWrite(f"{request.method} {request.endpoint} writes: mark its view "
                                      "writes_on_get or write in write_transaction()")
