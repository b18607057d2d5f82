"""flask --app wsgi backfill-cancellations: the spec's migration path for old cancellations."""
from __future__ import annotations

import click

from portal.extensions import db


@click.command("backfill-cancellations")
def backfill_cancellations():
    """Record bookings already cancelled without a cancellation row. Safe to run again."""
    from portal.services.cancellations import cancellations_backfill

    count = cancellations_backfill()
    db.session.commit()
    click.echo(f"Recorded {count} historical cancellation{'' if count == 1 else 's'}.")
