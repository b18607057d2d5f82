"""flask --app wsgi cleanup-recordings"""
from __future__ import annotations

import click


@click.command("cleanup-recordings")
def cleanup_recordings():
    """Delete recordings past their expires_at (file and row), as the daily job does."""
    from portal.services.recordings.cleanup import recordings_cleanup

    result = recordings_cleanup()
    click.echo("Recordings checked: {checked}, deleted: {deleted}, files already missing: "
               "{missing_files}, errors: {errors}".format(**result))
    if result["errors"]:
        raise SystemExit(1)


@click.group("recordings")
def recordings_cli():
    """Recordings encrypted at rest: master key rotation and encrypting older plain files."""


@recordings_cli.command("rotate-key")
def rotate_key():
    """Re-wrap every recording's data key with the current RECORDINGS_KEY (files untouched).
    Keep the previous key in RECORDINGS_OLD_KEYS until this has run everywhere."""
    from portal.services.recordings.maintenance import recordings_rotate_key

    result = recordings_rotate_key()
    click.echo("Data keys re-wrapped: {rewrapped}, errors: {errors}".format(**result))
    if result["errors"]:
        raise SystemExit(1)


@recordings_cli.command("encrypt-existing")
def encrypt_existing():
    """Encrypt, in place, recordings stored before encryption (safe to re-run or resume)."""
    from portal.services.recordings.maintenance import recordings_encrypt_existing

    result = recordings_encrypt_existing()
    click.echo("Recordings encrypted: {encrypted}, resumed: {resumed}, files missing: {missing_files}, "
               "errors: {errors}".format(**result))
    if result["errors"]:
        raise SystemExit(1)
