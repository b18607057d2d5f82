"""Set-based SQL helpers for reads and writes of thousands of rows at once.

On PostgreSQL a list travels as one array parameter, built here as text and
parsed by the server in one go: psycopg adapts Python lists element by
element, which costs more than the statement itself at these sizes. Other
databases get plain IN lists and executemany.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from portal.extensions import db


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def among(column, values) -> sa.ColumnElement:
    """column IN values; on PostgreSQL one array parameter (= ANY) instead of thousands."""
    values = list(values)
    if is_postgres():
        # An untyped parameter: with a VARCHAR bind cast PostgreSQL re-parses the array per row.
        array = sa.bindparam(None, pg_array(values), type_=sa.types.NullType())
        return column == sa.any_(sa.cast(array, postgresql.ARRAY(column.type)))
    return column.in_(values)


def _quoted(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _formatter(sample):
    if isinstance(sample, bool):
        return lambda v: "t" if v else "f"
    if isinstance(sample, uuid.UUID):
        return lambda v: v.hex  # PostgreSQL reads undashed hex, and it is quicker to make
    if isinstance(sample, (int, Decimal)):
        return str
    if isinstance(sample, (datetime, date)):
        return lambda v: v.isoformat()
    return _quoted


def pg_array(values) -> str:
    """A PostgreSQL array literal of `values` (all of one type, None allowed)."""
    values = list(values)
    sample = next((v for v in values if v is not None), None)
    fmt = _formatter(sample)
    if isinstance(sample, (datetime, date, Decimal)):
        # Times, days and prices repeat (a grid of start times, a few rates), and formatting
        # a datetime costs ten times a dictionary lookup: each distinct value is formatted once.
        text = {v: "NULL" if v is None else fmt(v) for v in set(values)}
        return "{" + ",".join(map(text.__getitem__, values)) + "}"
    return "{" + ",".join(["NULL" if v is None else fmt(v) for v in values]) + "}"


def pg_type(column: sa.Column) -> str:
    return column.type.compile(dialect=postgresql.dialect())


def bulk_insert(table: sa.Table, rows: list[dict], *, skip_conflicts: bool = False) -> None:
    """Insert rows with one statement: unnest() of arrays on PostgreSQL, executemany elsewhere.

    Every row must have the same keys, and no key may be None in every row.
    `skip_conflicts` (PostgreSQL only) drops rows that a unique or exclusion
    constraint refuses instead of failing the statement."""
    if not rows:
        return
    if not is_postgres():
        db.session.execute(sa.insert(table), rows)
        return
    columns = [name for name in rows[0] if any(row[name] is not None for row in rows)]
    arrays = ", ".join(f"CAST(:c{i} AS {pg_type(table.c[name])}[])" for i, name in enumerate(columns))
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
                 + (" ON CONFLICT DO NOTHING" if skip_conflicts else ""))
    db.session.execute(sa.text(statement), {f"c{i}": pg_array(row[name] for row in rows)
                                            for i, name in enumerate(columns)})


def write_together(*statements: sa.Executable) -> sa.Result:
    """Run several writes (INSERTs, or a SELECT of a writing function, last) as one statement on
    PostgreSQL: each but the last a data-modifying CTE of the last, so the rows a change owes
    (its history, its audit row, its mail) cost one round trip, not one each. Elsewhere (SQLite
    knows no writing CTEs) one after another. Every value must be given: defaults the ORM would
    fill in do not run inside a CTE. Returns the last statement's result."""
    *first, last = statements
    if first and is_postgres():
        return db.session.execute(last.add_cte(*(s.cte(f"written_{n}") for n, s in enumerate(first))))
    for statement in first:
        db.session.execute(statement)
    return db.session.execute(last)
