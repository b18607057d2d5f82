"""flask --app wsgi <command>: the portal's command line."""
from __future__ import annotations

import functools

import click
from flask import Flask
from flask.cli import AppGroup

from portal.errors import ServiceError
from portal.extensions import db
from portal.models import ROLES
from portal.models.transactions import intent_to_write

users_cli = AppGroup("users", help="Create accounts and API tokens.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", "display_name", default=None)
@click.option("--timezone", default="UTC", show_default=True)
def users_create(email, password, role, display_name, timezone):
    """Create a user (a specialist also gets a profile) and print its id."""
    from portal.services.users import user_create

    try:
        user = user_create(email=email, password=password, role=role, display_name=display_name,
                           timezone=timezone)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(str(user.id))


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="Days until the token stops working (default: never).")
def users_token(email, name, expires_days):
    """Print a new API token for the user, alone on the last line."""
    from portal.services.users import api_token_create

    user = _user_or_fail(email)
    try:
        token = api_token_create(user=user, name=name, expires_days=expires_days)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Token for {user.email} (shown once):")
    click.echo(token)


@users_cli.command("revoke-token")
@click.argument("email")
@click.option("--name", default=None, help="Revoke the user's live tokens with this name.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every live token of the user.")
def users_revoke_token(email, name, revoke_all):
    """Revoke a user's API tokens, by name or all of them."""
    from portal.services.users import api_tokens_revoke_named

    if (name is None) == (not revoke_all):
        raise click.UsageError("Give exactly one of --name N or --all.")
    user = _user_or_fail(email)
    count = api_tokens_revoke_named(user=user, name=None if revoke_all else name)
    db.session.commit()
    click.echo(f"Revoked {count} token{'' if count == 1 else 's'} of {user.email}.")


def _user_or_fail(email: str):
    from portal.services.users import user_by_email

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    return user


@click.command("seed-demo")
def seed_demo():
    """Fill a realistic demo. Running it again changes nothing."""
    from portal.cli.demo import seed_demo_data

    created = seed_demo_data()
    db.session.commit()
    from portal.cli.demo import DEMO_ACCOUNTS

    click.echo(f"Demo accounts (password for all: {DEMO_ACCOUNTS[0][2]}):")
    for role, email, _password in DEMO_ACCOUNTS:
        click.echo(f"  {role:<10} {email}")
    click.echo("Created the demo data." if created else "The demo data was already there; nothing changed.")


def register_cli(app: Flask) -> None:
    for command in (users_cli, seed_demo, *extra_commands()):
        app.cli.add_command(writing(command))


def writing(command: click.Command) -> click.Command:
    """The command (and a group's subcommands) with its transactions taking SQLite's write lock
    when they begin: a command writes, and must queue behind the web's writers, not fail."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            writing(sub)
        return command
    callback = command.callback
    if callback is None or getattr(callback, "declares_writing", False):
        return command

    @functools.wraps(callback)
    def run(*args, **kwargs):
        with intent_to_write():
            return callback(*args, **kwargs)

    run.declares_writing = True
    command.callback = run
    return command


def extra_commands() -> list:
    """Commands that live beside their features; each feature adds its own here."""
    from portal.cli.attendance import complete_past_sessions
    from portal.cli.cancellations import backfill_cancellations
    from portal.cli.recordings import cleanup_recordings, recordings_cli
    from portal.cli.recurring import dispatch_recurring
    from portal.cli.rights import expire_clinical_records
    from portal.jobs.cli import rq_cli

    return [backfill_cancellations, cleanup_recordings, complete_past_sessions, dispatch_recurring,
            expire_clinical_records, recordings_cli, rq_cli]
