"""The one loader of "a row this user may see", for pages, the API and services alike.

It raises the portal's refusals (portal.errors); the app's error handlers answer
them with the 404 or 403 page, or the API's JSON error."""
from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from portal.domain.inputs import as_uuid
from portal.errors import FORBIDDEN_MESSAGE, NOT_FOUND_MESSAGE, Forbidden, NotFound
from portal.extensions import db
from portal.models import Booking
from portal.models.row_security import row_security_active
from portal.policies.rules import can

T = TypeVar("T")


def load(model: type[T], row_id: Any, user, *, action: str = "view", missing: str = NOT_FOUND_MESSAGE,
         refused: str = FORBIDDEN_MESSAGE, fields: dict | None = None, forbid_unseen: bool = False,
         lock: bool = False) -> T:
    """The `model` row with id `row_id` that `user` may see (and, with `action`, change).

    - NotFound(missing) when the id is malformed, names no row, or names one outside
      the user's scope: the three look alike to the caller;
    - Forbidden(refused) for a row the user may see but may not `action`.

    `fields` (the request field that named the id) go with the NotFound. With
    `forbid_unseen` a row outside the scope is Forbidden(refused) instead, where the
    spec names FORBIDDEN for someone else's row (its booking-cancel function). With
    `lock` the row is read afresh and locked until the transaction ends (PostgreSQL)."""
    key = as_uuid(row_id)
    row = _get(model, key, lock=lock) if key is not None else None
    if row is None:
        if forbid_unseen and key is not None and _exists_unseen(model, key):
            raise Forbidden(refused)
        raise NotFound(missing, fields=fields)
    if not can("view", user, row):
        if forbid_unseen:
            raise Forbidden(refused)
        raise NotFound(missing, fields=fields)
    if action != "view" and not can(action, user, row):
        raise Forbidden(refused)
    return row


def _exists_unseen(model: type, key) -> bool:
    """Whether a row row-level security hid exists: the spec's booking-cancel tells someone else's
    booking (403) from none (404). The database says so for bookings alone (portal_booking_exists)."""
    if model is not Booking or not row_security_active():
        return False
    return bool(db.session.scalar(sa.select(sa.func.portal_booking_exists(key))))


def _get(model: type[T], key, *, lock: bool) -> T | None:
    if lock:
        return db.session.get(model, key, with_for_update=True, populate_existing=True)
    return db.session.get(model, key)
