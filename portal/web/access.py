"""The access log for reads that are not audited otherwise: a page or an API answer that shows
a patient's notes or recordings (a list counts as reading each record it shows)."""
from __future__ import annotations

from collections.abc import Iterable

from flask_login import current_user

from portal.services.access_log import access_rows, write_access_rows
from portal.web.transactions import write_transaction


def log_reads(records: Iterable) -> None:
    """Log the signed-in user reading `records`: nothing to write (the patient's own records, or
    read already this hour) takes no write lock; otherwise a short transaction of its own, so
    the read is logged before the answer goes out. Call it after the request's own commit."""
    rows = access_rows(current_user, list(records))
    if rows:
        with write_transaction():
            write_access_rows(rows)
