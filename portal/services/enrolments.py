"""Package enrolments: a patient takes a package, pays outside the
portal, and their bookings with that specialist draw its session credits.

credits_used changes only through conditional UPDATEs (`... WHERE credits_used <
credits_total`): under PostgreSQL's READ COMMITTED a second writer waits for the
row and re-checks the condition, so two bookings at once cannot spend the last
credit twice, and the check constraint catches anything that slips past.
Every function flushes; the caller commits."""
from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from portal import clock, policies
from portal.errors import Conflict, Forbidden, NotFound, ServiceError
from portal.extensions import db
from portal.models import BookingPackage, PackageEnrolment, PackageService, Role, User
from portal.selectors.enrolments import enrolments_due_expiry_notice
from portal.services.audit import audit_record
from portal.services.outbox import outbox_add_many

log = logging.getLogger(__name__)

PENDING, ACTIVE, EXPIRED, CANCELLED = "pending_payment", "active", "expired", "cancelled"
REFERENCE_MAX = 120


class EnrolmentStateError(Conflict):
    code = "INVALID_STATE"


def enrolment_take(*, actor: User, package_id) -> PackageEnrolment:
    """The patient takes an active package: its terms copied now, awaiting payment."""
    package = policies.load(BookingPackage, package_id, actor, missing="No such package.",
                            fields={"package_id": "Not an active package."})
    if not package.is_active:
        raise NotFound("No such package.", fields={"package_id": "Not an active package."})
    enrolment = PackageEnrolment(
        package_id=package.id, patient_id=actor.id, specialist_id=package.specialist_id,
        package_name=package.name, status=PENDING, credits_total=package.session_count, credits_used=0,
        price=package.price, currency=package.currency, discount_percentage=package.discount_percentage,
        validity_days=package.valid_for_days,
    )
    if not policies.can("create", actor, enrolment):
        raise Forbidden("Only patients can take a package.")
    db.session.add(enrolment)
    db.session.flush()
    audit_record(actor=actor, action="package_enrolment_created", entity_type="package_enrolment",
                 entity_id=enrolment.id, new_values={"package_id": package.id, "status": PENDING,
                                                     "credits_total": enrolment.credits_total,
                                                     "price": enrolment.price})
    return enrolment


def enrolment_load(*, actor: User, enrolment_id, action: str = "view") -> PackageEnrolment:
    """The enrolment (NotFound outside the actor's scope, Forbidden for `action` they may not do)."""
    return policies.load(PackageEnrolment, enrolment_id, actor, action=action, missing="No such enrolment.",
                         refused="You may not change this enrolment.")


def _locked(enrolment: PackageEnrolment) -> PackageEnrolment:
    """Read the row again, locked until the transaction ends (PostgreSQL)."""
    return db.session.execute(
        sa.select(PackageEnrolment).where(PackageEnrolment.id == enrolment.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def expiry_for(starts_on: date, validity_days: int | None) -> date | None:
    """The last day the credits can be used (None: they never expire)."""
    return starts_on + timedelta(days=validity_days) if validity_days else None


def enrolment_mark_paid(*, actor: User, enrolment_id, reference) -> PackageEnrolment:
    """Payment arrived (outside the portal): the enrolment starts today."""
    text = reference.strip() if isinstance(reference, str) else ""
    if not text or len(text) > REFERENCE_MAX:
        raise ServiceError(f"Give the payment reference (at most {REFERENCE_MAX} characters).",
                           fields={"reference": "A payment reference is required."})
    enrolment = _locked(enrolment_load(actor=actor, enrolment_id=enrolment_id, action="update"))
    if enrolment.status != PENDING:
        raise EnrolmentStateError("Only an enrolment awaiting payment can be marked paid.")
    today = clock.today()
    enrolment.status, enrolment.payment_reference, enrolment.paid_at = ACTIVE, text, clock.now()
    enrolment.starts_on, enrolment.expires_on = today, expiry_for(today, enrolment.validity_days)
    db.session.flush()
    audit_record(actor=actor, action="package_enrolment_paid", entity_type="package_enrolment",
                 entity_id=enrolment.id, old_values={"status": PENDING},
                 new_values={"status": ACTIVE, "starts_on": enrolment.starts_on,
                             "expires_on": enrolment.expires_on})
    return enrolment


def enrolment_cancel(*, actor: User, enrolment_id) -> PackageEnrolment:
    """An admin cancels an enrolment that was never paid, or its patient withdraws it."""
    enrolment = enrolment_load(actor=actor, enrolment_id=enrolment_id)
    if actor.role != Role.ADMIN and actor.id != enrolment.patient_id:
        raise Forbidden("Only an administrator or the patient can cancel an enrolment.")
    enrolment = _locked(enrolment)
    if enrolment.status != PENDING:
        raise EnrolmentStateError("Only an enrolment that was never paid can be cancelled.")
    enrolment.status = CANCELLED
    db.session.flush()
    audit_record(actor=actor, action="package_enrolment_cancelled", entity_type="package_enrolment",
                 entity_id=enrolment.id, old_values={"status": PENDING}, new_values={"status": CANCELLED})
    return enrolment


def _usable_on(day: date) -> sa.ColumnElement:
    """Active, with a credit left, and not expired by `day`."""
    return sa.and_(PackageEnrolment.status == ACTIVE,
                   PackageEnrolment.credits_used < PackageEnrolment.credits_total,
                   sa.or_(PackageEnrolment.expires_on.is_(None), PackageEnrolment.expires_on >= day))


def _soonest_first():
    return (PackageEnrolment.expires_on.is_(None), PackageEnrolment.expires_on, PackageEnrolment.created_at,
            PackageEnrolment.id)


def usable_enrolment(*, patient_id: uuid.UUID, specialist_id: uuid.UUID, day: date) -> PackageEnrolment | None:
    """The enrolment a booking on `day` would draw from: the one expiring soonest."""
    return db.session.scalars(
        sa.select(PackageEnrolment).where(PackageEnrolment.patient_id == patient_id,
                                          PackageEnrolment.specialist_id == specialist_id, _usable_on(day))
        .order_by(*_soonest_first()).limit(1)
    ).first()


def _covers(service_id: uuid.UUID | None):
    """Enrolments whose package pays for the service: one naming no service pays for all."""
    if service_id is None:
        return sa.true()
    named = sa.select(PackageService.service_id).where(PackageService.package_id == PackageEnrolment.package_id)
    return sa.or_(~named.exists(), named.where(PackageService.service_id == service_id).exists())


def credit_draw(*, patient_id: uuid.UUID, specialist_id: uuid.UUID, day: date,
                service_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """Spend one credit for a session of the service on `day`; the enrolment's id, or None when
    none is usable (or none pays for that service).

    The UPDATE re-checks the condition on the row it locks, so a credit another
    transaction spent meanwhile is never spent again: we move to the next candidate."""
    candidates = db.session.scalars(
        sa.select(PackageEnrolment.id).where(PackageEnrolment.patient_id == patient_id,
                                             PackageEnrolment.specialist_id == specialist_id, _usable_on(day),
                                             _covers(service_id))
        .order_by(*_soonest_first())
    ).all()
    for enrolment_id in candidates:
        changed = db.session.execute(
            sa.update(PackageEnrolment).where(PackageEnrolment.id == enrolment_id, _usable_on(day))
            .values(credits_used=PackageEnrolment.credits_used + 1, updated_at=clock.now())
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed == 1:
            _expire_cached(enrolment_id)
            return enrolment_id
    return None


def credit_return(*, enrolment_id: uuid.UUID) -> bool:
    """Give back the credit a cancelled booking used (to an enrolment that has not expired)."""
    changed = db.session.execute(
        sa.update(PackageEnrolment)
        .where(PackageEnrolment.id == enrolment_id, PackageEnrolment.credits_used > 0,
               PackageEnrolment.status == ACTIVE)
        .values(credits_used=PackageEnrolment.credits_used - 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    _expire_cached(enrolment_id)
    return changed == 1


def _expire_cached(enrolment_id: uuid.UUID) -> None:
    cached = db.session.identity_map.get(sa.inspect(PackageEnrolment).identity_key_from_primary_key(
        (enrolment_id,)))
    if cached is not None:
        db.session.expire(cached)


def enrolments_expire(*, today: date | None = None) -> int:
    """The nightly job: enrolments past expires_on become expired; unused credits are lost."""
    today = today or clock.today()
    expired = db.session.execute(
        sa.update(PackageEnrolment)
        .where(PackageEnrolment.status == ACTIVE, PackageEnrolment.expires_on < today)
        .values(status=EXPIRED, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if expired:
        audit_record(actor=None, action="package_enrolments_expired", entity_type="package_enrolment",
                     new_values={"count": expired, "before": today})
    log.info("package enrolments expired before %s: %s", today, expired)
    return expired


def enrolments_send_expiry_notices(*, today: date | None = None) -> int:
    """Owe each patient one e-mail when an enrolment with sessions left is about to expire.

    Marking `expiry_notice_at` in the same transaction as the outbox row (whose dedup key is the
    enrolment's) keeps a second run, or a second worker, from writing it again."""
    today = today or clock.today()
    due = enrolments_due_expiry_notice(today=today)
    outbox_add_many([{"recipient_id": enrolment.patient_id, "template": "package_expiring",
                      "about": {"enrolment_id": str(enrolment.id)}, "dedup_key": f"package-expiring:{enrolment.id}"}
                     for enrolment in due])
    for enrolment in due:
        enrolment.expiry_notice_at = clock.now()
    db.session.flush()
    log.info("package expiry notices written for %s: %s", today, len(due))
    return len(due)
