"""flask --app wsgi expire-clinical-records"""
from __future__ import annotations

import click


@click.command("expire-clinical-records")
def expire_clinical_records():
    """Delete erased patients' clinical notes and booking history past CLINICAL_RECORD_RETENTION_YEARS
    after their last session, as the nightly job does."""
    from portal.services.retention import clinical_records_expire

    result = clinical_records_expire()
    click.echo("Erased patients checked: {checked}, records deleted: {deleted}, errors: {errors}".format(**result))
    if result["errors"]:
        raise SystemExit(1)
