"""flask --app wsgi complete-past-sessions"""
from __future__ import annotations

import click


@click.command("complete-past-sessions")
def complete_past_sessions():
    """Mark confirmed sessions that ended AUTO_COMPLETE_HOURS ago completed, as the nightly job does."""
    from portal.extensions import db
    from portal.services.attendance import bookings_complete_past

    count = bookings_complete_past()
    db.session.commit()
    click.echo(f"Sessions marked completed: {count}")
