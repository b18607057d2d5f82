"""Fair use: setting a specialist's booking rules, and enforcing them on a booking.

The checks themselves are pure (portal/domain/booking_rules.py). Enforcing the
upcoming limit is a count followed by an insert, so two requests at once for a
patient one below the limit could both pass the count: on PostgreSQL the pair
(patient, specialist) is locked first (a transaction-scoped advisory lock on one
of BUCKETS hashed keys, the same keys the dispatcher takes for its batches), so
the second request counts only after the first has committed or rolled back.
SQLite serialises writers itself."""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal import policies
from portal.domain import booking_rules as rules_domain
from portal.domain.booking_rules import BookingRules
from portal.domain.inputs import DEFAULT_BOOKING_AHEAD_DAYS
from portal.errors import Conflict, NotFound, ServiceError
from portal.extensions import db
from portal.models import Role, SpecialistProfile, User
from portal.models.bulk import is_postgres, pg_array
from portal.selectors.booking_rules import booking_rules_of, upcoming_count
from portal.selectors.specialists import specialist_get
from portal.services.audit import audit_record

log = logging.getLogger(__name__)

LOCK_CLASS = 21  # the first key of pg_advisory_xact_lock(int, int): this module's namespace
BUCKETS = 1024  # one lock per pair ran out of shared memory at tens of thousands (STACK-NOTES)
_LOCK_MANY = sa.text("SELECT pg_advisory_xact_lock(CAST(:cls AS integer), k) FROM "
                     "(SELECT unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS ordered")


class BookingRuleBroken(Conflict):
    """A booking the specialist's rules refuse; `code` names the rule."""


def max_ahead_days() -> int:
    return current_app.config.get("MAX_BOOKING_AHEAD_DAYS", DEFAULT_BOOKING_AHEAD_DAYS)


def lock_bucket(patient_id: uuid.UUID, specialist_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(patient_id.bytes + specialist_id.bytes, digest_size=4).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def pair_lock_keys(pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> list[int]:
    return sorted({lock_bucket(p, s) for p, s in pairs})


def lock_pairs(pairs: Iterable[tuple[uuid.UUID, uuid.UUID]] = (), *, keys: list[int] | None = None) -> None:
    """PostgreSQL: hold the (patient, specialist) pairs' locks until the transaction ends
    (`keys`: their pair_lock_keys, when the caller worked them out beforehand).

    Taken in key order in one statement, so two holders of several never deadlock."""
    keys = pair_lock_keys(pairs) if keys is None else keys
    if keys and is_postgres():
        db.session.execute(_LOCK_MANY, {"cls": LOCK_CLASS, "keys": pg_array(keys)}).all()


def booking_rules_enforce(*, rules: BookingRules, patient_id: uuid.UUID, specialist_id: uuid.UUID,
                          starts_at: datetime, now: datetime, override: bool = False,
                          moving_id: uuid.UUID | None = None) -> list[str]:
    """Refuse (BookingRuleBroken, 409) a one-off booking the rules forbid, checking the
    cheap rules first. With `override` (staff's), nothing is refused: the codes of
    the rules overridden come back for the audit row. Locks the pair first (see above).
    A booking being moved (`moving_id`) does not count towards the upcoming limit."""
    limit = max_ahead_days()
    broken = [code for code in (rules_domain.notice_refusal(rules, starts_at, now),
                                rules_domain.window_refusal(rules, starts_at, now, limit)) if code]
    if not broken or override:
        lock_pairs([(patient_id, specialist_id)])
        upcoming = upcoming_count(patient_id=patient_id, specialist_id=specialist_id, now=now,
                                  moving_id=moving_id)
        broken += filter(None, [rules_domain.limit_refusal(rules, upcoming)])
    if broken and not override:
        code = broken[0]
        raise BookingRuleBroken(rules_domain.refusal_message(code, rules, limit), code=code)
    return broken


def booking_rules_get(*, specialist_id) -> BookingRules:
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    return booking_rules_of(specialist.id)


def booking_rules_update(*, actor: User, specialist_id, **changes) -> BookingRules:
    """Set any of the specialist's rules (the specialist themself or an admin); those not
    given keep their values. slot_interval_minutes None: the default the services give."""
    specialist = specialist_get(specialist_id=specialist_id)
    if specialist is None:
        raise NotFound("No such specialist.")
    profile = policies.load(SpecialistProfile, specialist.id, actor, action="update", missing="No such specialist.",
                            refused="Only the specialist or an admin may change this.")
    unknown = set(changes) - set(rules_domain.LIMITS)
    if unknown:
        raise ServiceError("Unknown rules.", fields={name: "Unknown rule." for name in unknown})
    values = {key: changes.get(key, getattr(profile, key)) for key in rules_domain.LIMITS}
    errors = rules_domain.rules_errors(values, max_ahead_days())
    if errors:
        raise ServiceError("Some fields are invalid.", fields=errors)
    old = {key: getattr(profile, key) for key in values}
    for key, value in values.items():
        setattr(profile, key, value)
    db.session.flush()
    audit_record(actor=actor, action="booking_rules_updated", entity_type="specialist", entity_id=specialist.id,
                 old_values=old, new_values=values)
    log.info("booking rules of %s changed by %s", specialist.id, actor.id)
    return BookingRules(**values)


def may_override(actor: User, specialist_id: uuid.UUID | None = None) -> bool:
    """Staff may book past a specialist's rules: an admin on any calendar, a specialist on their own."""
    return actor.role == Role.ADMIN or (actor.role == Role.SPECIALIST and actor.id == specialist_id)
