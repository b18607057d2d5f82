"""Where a request's time goes in the database: its SQL statements counted and timed, for
bench/writes.py and the test that holds a booking and a cancellation to their statement budget.

Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) and per-transaction settings
(SET LOCAL, set_config) are not counted: they are not rows read or written, and a role switch
or savepoint a guarantee needs should not be traded away for a lower count."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session

NOT_COUNTED = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET\s+LOCAL|SELECT\s+set_config)\b", re.I)
# The database's own writers (row-level security: portal.models.row_policies) are writes too.
WRITE = re.compile(r"\s*(WITH\b.*\b(INSERT|UPDATE|DELETE)\b|INSERT|UPDATE|DELETE|SELECT\s+portal_\w+_write\b)",
                   re.I | re.S)


@dataclass
class Statements:
    """The statements run while counting and the seconds spent in reads, in writes, in the
    statements not counted (transaction control, per-transaction settings), and in commits (less
    the statements of the flush a commit runs, counted as reads or writes)."""

    sql: list[str] = field(default_factory=list)
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    control_seconds: float = 0.0
    commit_seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.sql)

    @property
    def writes(self) -> int:
        return sum(1 for statement in self.sql if WRITE.match(statement))


@contextmanager
def counted(engine) -> Iterator[Statements]:
    """Count and time the statements `engine` runs, and the commits of any session, in the block."""
    seen = Statements()
    started: dict[int, float] = {}
    committing: list[float] = []
    flushed = [0.0]  # statement seconds inside the commit under way (its flush): counted as statements

    def before(_conn, cursor, statement, *_args) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(_conn, cursor, statement, *_args) -> None:
        spent = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        if committing:
            flushed[0] += spent
        if NOT_COUNTED.match(statement):
            seen.control_seconds += spent
            return
        seen.sql.append(statement)
        if WRITE.match(statement):
            seen.write_seconds += spent
        else:
            seen.read_seconds += spent

    def before_commit(_session) -> None:
        committing.append(time.perf_counter())
        flushed[0] = 0.0

    def after_commit(_session) -> None:
        if committing:
            seen.commit_seconds += time.perf_counter() - committing.pop() - flushed[0]

    hooks = [(engine, "before_cursor_execute", before), (engine, "after_cursor_execute", after),
             (Session, "before_commit", before_commit), (Session, "after_commit", after_commit)]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield seen
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
