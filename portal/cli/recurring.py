"""flask --app wsgi dispatch-recurring [--date YYYY-MM-DD].

--date accepts any date (operators rehearse runs with it); a date after today is noted
in the output (on stderr, so stdout stays the result's JSON)."""
from __future__ import annotations

import json
from datetime import date

import click


@click.command("dispatch-recurring")
@click.option("--date", "run_date", default=None, help="Run date YYYY-MM-DD (default: today).")
def dispatch_recurring(run_date):
    """Book every due occurrence of the recurring series now, and print the result."""
    from portal.services.recurring import portal_today, recurring_dispatch

    try:
        day = date.fromisoformat(run_date) if run_date else None
    except ValueError as error:
        raise click.BadParameter("Use YYYY-MM-DD.", param_hint="--date") from error
    today = portal_today()
    if day is not None and day > today:
        click.echo(f"Note: {day.isoformat()} is after today ({today.isoformat()}): "
                   "this run books as if it were that day.", err=True)
    click.echo(json.dumps(recurring_dispatch(run_date=day), indent=2))
