"""flask --app wsgi dispatch-recurring [--date YYYY-MM-DD]."""
from __future__ import annotations

import json
from datetime import date

import click


@click.command("dispatch-recurring")
@click.option("--date", "run_date", default=None, help="Run date YYYY-MM-DD (default: today).")
def dispatch_recurring(run_date):
    """Book every due occurrence of the recurring series now, and print the result."""
    from portal.services.recurring import recurring_dispatch

    try:
        day = date.fromisoformat(run_date) if run_date else None
    except ValueError as error:
        raise click.BadParameter("Use YYYY-MM-DD.", param_hint="--date") from error
    click.echo(json.dumps(recurring_dispatch(run_date=day), indent=2))
