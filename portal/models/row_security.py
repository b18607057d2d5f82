"""PostgreSQL row-level security: whose transaction this is.

The app connects as the schema's owner. Each transaction a request begins switches to the
non-owner role DATABASE_APP_ROLE with the acting user's id and role set for that transaction
(`set_config(..., true)`: they end with it), so the tables' policies (the migration
0029_row_level_security, from portal.models.row_policies) refuse what portal.policies refuses
even to a query that forgot its filter. A signed-out request runs as that role with no user.

Code outside a request (jobs, commands, migrations) is the process's own and runs as the owner.
Inside a request, work that must see every row (a job run in-process) says so with `as_owner()`;
a request acting for a user it authenticated some other way (a calendar feed's secret address)
says whom with `acting_as(user)`. SQLite keeps the Python policies alone; an empty
DATABASE_APP_ROLE turns the switch off (the benchmarks' "without RLS" side)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

EXTENSION = "row_security"
_STATE = "portal_row_security"  # connection.info: what the open transaction was last set to
_OWNER = ("owner",)
_NOBODY = object()
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_owner: ContextVar[bool] = ContextVar("row_security_owner", default=False)
_acting: ContextVar[object] = ContextVar("row_security_acting", default=_NOBODY)

_SET_APP = text("select set_config('role', :role, true), set_config('portal.user_id', :user_id, true), "
                "set_config('portal.role', :user_role, true)")
_SET_OWNER = text("select set_config('role', 'none', true), set_config('portal.user_id', '', true), "
                  "set_config('portal.role', '', true)")


def app_role(app: Flask) -> str | None:
    """The role requests switch to, or None where the switch is off (SQLite, an empty setting)."""
    return app.extensions.get(EXTENSION)


def row_security_active() -> bool:
    """Whether this transaction runs under the policies (PostgreSQL, a request, not as_owner)."""
    return has_app_context() and bool(app_role(current_app)) and _desired() != _OWNER


@contextmanager
def as_owner() -> Iterator[None]:
    """Run the block as the schema's owner, every row in reach: the jobs' and commands' door,
    for work a request starts that is the system's, not the user's."""
    token = _owner.set(True)
    try:
        _reapply()
        yield
    finally:
        _owner.reset(token)
        _reapply()


@contextmanager
def acting_as(user) -> Iterator[None]:
    """Run the block as `user` (None: signed out), for a request that authenticated them by a
    secret of their own rather than a session."""
    _note(user)
    token = _acting.set(user)
    try:
        _reapply()
        yield
    finally:
        _acting.reset(token)
        _reapply()


def restore_owner() -> None:
    """Hand the open transaction back to the owner (the test client: a test's transaction
    outlives the requests made in it)."""
    token = _owner.set(True)
    try:
        _reapply()
    finally:
        _owner.reset(token)


def user_changed() -> None:
    """The request's user is known, or changed (signed in, signed out): set it for the open
    transaction; later ones read it when they begin."""
    if has_request_context():
        _note(g.get("_login_user"))
    _reapply()


def _acting_user():
    user = _acting.get()
    if user is not _NOBODY:
        return user
    # Flask-Login's user as loaded so far: reading current_user here would load it, with a
    # query, while the transaction is still beginning.
    if not has_request_context() or g.get("_row_security_signed_out"):
        return None
    return g.get("_login_user")


def _identity(user) -> tuple[str, str]:
    """(id, role) of `user`, ("", "") signed out, without a query: a user read in an earlier
    transaction has its attributes expired, so they are noted while they can be read."""
    if user is None or getattr(user, "is_anonymous", True):
        return ("", "")
    known = _noted().get(id(user))
    if known is None:
        state = sa.inspect(user)
        role = state.dict.get("role")
        if role is None or not state.has_identity:
            return ("", "")
        known = (str(state.identity[0]), str(role))
    return known


def _noted() -> dict:
    if not has_app_context():
        return {}
    if "_row_security_users" not in g:
        g._row_security_users = {}
    return g._row_security_users


def _note(user) -> None:
    """Remember `user`'s id and role while reading them may still query."""
    if user is not None and not getattr(user, "is_anonymous", True) and has_app_context():
        _noted()[id(user)] = (str(user.id), str(user.role))


def _desired() -> tuple:
    if _owner.get() or (not has_request_context() and _acting.get() is _NOBODY):
        return _OWNER
    return _identity(_acting_user())


def _apply(connection: Connection, role: str) -> None:
    desired = _desired()
    if desired == _OWNER:
        if connection.info.get(_STATE) != _OWNER:
            connection.execute(_SET_OWNER)
            connection.info[_STATE] = _OWNER
        return
    if connection.info.get(_STATE) == desired:  # a savepoint begins inside what is set already
        return
    connection.execute(_SET_APP, {"role": role, "user_id": desired[0], "user_role": desired[1]})
    connection.info[_STATE] = desired


def _reapply() -> None:
    if not has_app_context():
        return
    role = app_role(current_app)
    from portal.extensions import db

    if not role or not db.session().in_transaction():
        return
    # An aborted transaction refuses every statement; its rollback ends the settings too.
    with suppress(DBAPIError):
        _apply(db.session.connection(), role)


def _after_begin(_session: Session, _transaction, connection: Connection) -> None:
    if connection.dialect.name != "postgresql" or not has_app_context():
        return
    role = app_role(current_app)
    if role:
        _apply(connection, role)


def configure_row_security(app: Flask) -> None:
    """Switch each request's transactions to DATABASE_APP_ROLE (PostgreSQL only)."""
    from flask_login import user_logged_in, user_logged_out

    from portal.extensions import db

    role = (app.config.get("DATABASE_APP_ROLE") or "").strip()
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres") or not role:
        app.extensions[EXTENSION] = None
        return
    if not _ROLE_NAME.match(role):
        raise ValueError(f"DATABASE_APP_ROLE {role!r} is not a plain role name")
    app.extensions[EXTENSION] = role
    with app.app_context():
        engine = db.engine
    _listen_once()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def ended(connection):
        connection.info[_STATE] = _OWNER  # set_config(..., true) ends with the transaction

    # A connection new or back in the pool holds no transaction, so none of its settings: the
    # pool rolls back what is returned. Knowing that, a transaction of the owner's (every job,
    # command and sweep) begins with no statement, and a request's with one (its user's).
    @event.listens_for(engine, "connect")
    def opened(_dbapi_connection, record):
        record.info[_STATE] = _OWNER

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection, record):
        record.info[_STATE] = _OWNER

    @event.listens_for(engine, "rollback_savepoint")
    def rolled_back(connection, _name, _context):
        connection.info.pop(_STATE, None)  # back to whatever the savepoint began with: unknown

    @app.before_request
    def load_the_acting_user():
        from flask_login import current_user

        if "_login_user" not in g:
            # Looking up who it is reads users and api_tokens, which carry no row policies: as
            # the owner, so the transaction switches once, to the user found, not twice.
            with as_owner():
                current_user._get_current_object()  # noqa: SLF001 - load it now, before the view reads rows
        user_changed()

    user_logged_in.connect(_signed_in, app, weak=False)
    user_logged_out.connect(_signed_out, app, weak=False)


def _signed_in(*_args, **_kwargs) -> None:
    g.pop("_row_security_signed_out", None)
    user_changed()


def _signed_out(*_args, **_kwargs) -> None:
    # Flask-Login says so before it forgets the user.
    g._row_security_signed_out = True
    user_changed()


_listening = False


def _listen_once() -> None:
    global _listening  # noqa: PLW0603 - one Session-class listener per process, for every app
    if not _listening:
        event.listen(Session, "after_begin", _after_begin)
        _listening = True
