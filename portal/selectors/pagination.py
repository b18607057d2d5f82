"""One way to cut a list into pages, for the pages and the JSON API alike.

Flask-SQLAlchemy's `db.paginate` counts and slices; this module only decides
which page and size a request may ask for. `db.paginate` hands any page number
through to OFFSET, and a page like 10**20 overflows the database's integer (a
500 on SQLite), so the numbers are clamped here before any query runs."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from portal.extensions import db

# Far beyond any list the portal holds, and small enough that (page - 1) * per_page
# stays a modest integer on every database.
MAX_PAGE = 100_000
MAX_PER_PAGE = 200


def clamp(value, *, default: int, maximum: int) -> int:
    """A page number or size from a request: not a whole number -> `default`, else 1..maximum."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # "x", None, "1e20", float("inf")
        return default
    return min(max(number, 1), maximum)


def paginate(query: Select, *, page, per_page: int, max_per_page: int = MAX_PER_PAGE) -> Pagination:
    """One page of `query`'s rows, with `.items`, `.total`, `.page`, `.pages`, `.has_next`...

    `page` may come straight from the query string: anything that is not a page
    number becomes page 1, and a huge one becomes MAX_PAGE (an empty page)."""
    return db.paginate(query, page=clamp(page, default=1, maximum=MAX_PAGE),
                       per_page=clamp(per_page, default=max_per_page, maximum=max_per_page),
                       error_out=False)
