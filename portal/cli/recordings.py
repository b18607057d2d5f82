"""flask --app wsgi cleanup-recordings"""
from __future__ import annotations

import click


@click.command("cleanup-recordings")
def cleanup_recordings():
    """Delete recordings past their expires_at (file and row), as the daily job does."""
    from portal.services.recordings import recordings_cleanup

    result = recordings_cleanup()
    click.echo("Recordings checked: {checked}, deleted: {deleted}, files already missing: "
               "{missing_files}, errors: {errors}".format(**result))
    if result["errors"]:
        raise SystemExit(1)
