"""Booking packages: a specialist's multi-session offers (spec section 2).

Every write goes through policies.PackagePolicy and leaves an audit row in the
same transaction."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from portal import policies
from portal.domain.inputs import (
    CENTS,
    MAX_NAME,
    MAX_PRICE,
    InputError,
    parse_decimal,
    parse_integer,
    text_problem,
)
from portal.errors import Forbidden, ServiceError
from portal.extensions import db
from portal.models import BookingPackage, SpecialistProfile
from portal.selectors.packages import discount_from_price
from portal.services.audit import audit_record, changed_fields

# ISO 4217 codes the clinic prices in; a fixed list keeps typos out.
CURRENCIES = (
    "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "SEK", "NOK", "DKK", "PLN",
    "CZK", "HUF", "RON", "BGN", "ISK", "MXN", "BRL", "ARS", "CLP", "COP", "PEN", "ZAR",
    "INR", "SGD", "HKD", "CNY", "KRW", "ILS", "AED", "SAR", "TRY",
)
FIELDS = ("name", "description", "session_count", "price", "currency", "discount_percentage",
          "valid_for_days", "is_active")
MAX_DESCRIPTION = 5000


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decimal(value: Any, field: str, errors: dict) -> Decimal | None:
    try:
        return parse_decimal(value)
    except InputError:
        errors[field] = "Enter a number."
        return None


def _integer(value: Any, field: str, errors: dict) -> int | None:
    """Digits only: "1e1000000" is refused before int() could spend seconds on it."""
    try:
        return parse_integer(value)
    except InputError:
        errors[field] = "Enter a whole number."
        return None


def _check_name(data: dict, clean: dict, errors: dict) -> None:
    name = (data["name"] or "").strip() if isinstance(data["name"], str) or data["name"] is None else None
    if not name:
        errors["name"] = "Give the package a name."
    elif problem := text_problem(name, max_length=MAX_NAME):
        errors["name"] = problem
    else:
        clean["name"] = name


def _check_cents(raw: Any, name: str, clean: dict, errors: dict, in_range, out_of_range: str) -> None:
    """A decimal with at most two places inside a range, cleaned into `clean[name]`."""
    value = _decimal(raw, name, errors)
    if value is None:
        return
    if not in_range(value):
        errors[name] = out_of_range
    elif value != value.quantize(CENTS):
        errors[name] = "Use at most two decimals."
    else:
        clean[name] = value.quantize(CENTS)


def _check_numbers(data: dict, clean: dict, errors: dict) -> None:
    if "session_count" in data:
        count = _integer(data["session_count"], "session_count", errors)
        if count is not None and not 1 <= count <= 1000:
            errors["session_count"] = "A package has at least 1 session."
        elif count is not None:
            clean["session_count"] = count
    if "price" in data:
        _check_cents(data["price"], "price", clean, errors, lambda price: 0 <= price <= MAX_PRICE,
                     "The price cannot be negative.")
    if "discount_percentage" in data:
        raw = data["discount_percentage"]
        _check_cents(Decimal(0) if _blank(raw) else raw, "discount_percentage", clean, errors,
                     lambda discount: 0 <= discount <= 100, "The discount lies between 0 and 100.")
    if "valid_for_days" in data:
        raw = data["valid_for_days"]
        days = None if _blank(raw) else _integer(raw, "valid_for_days", errors)
        if days is not None and not 1 <= days <= 36500:
            errors["valid_for_days"] = "Valid for at least 1 day, or leave it empty."
        elif "valid_for_days" not in errors:
            clean["valid_for_days"] = days


def package_validate(data: dict, *, partial: bool = False) -> dict:
    """Clean values for the given fields, or ServiceError with one message per field."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ServiceError("Unknown fields.", fields={k: "Unknown field." for k in sorted(unknown)})
    if not partial:
        data = {"description": "", "currency": "USD", "discount_percentage": 0,
                "valid_for_days": None, "is_active": True, **data}
        for required in ("name", "session_count", "price"):
            data.setdefault(required, None)
    clean: dict = {}
    errors: dict = {}
    if "name" in data:
        _check_name(data, clean, errors)
    if "description" in data:
        description = "" if data["description"] is None else data["description"]
        problem = text_problem(description, max_length=MAX_DESCRIPTION, multiline=True)
        if problem:  # refused, not cut short: the specialist sees what would have been lost
            errors["description"] = problem
        else:
            clean["description"] = description.strip()
    for required in ("session_count", "price"):
        if required in data and _blank(data[required]):
            errors[required] = "Required."
            data = {k: v for k, v in data.items() if k != required}
    _check_numbers(data, clean, errors)
    if "currency" in data:
        currency = str(data["currency"] or "").strip().upper()
        if currency not in CURRENCIES:
            errors["currency"] = "Choose an ISO 4217 currency code such as USD or EUR."
        else:
            clean["currency"] = currency
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = "Must be true or false."
        else:
            clean["is_active"] = data["is_active"]
    if errors:
        raise ServiceError("Please correct the highlighted fields.", code="INVALID_REQUEST", fields=errors)
    return clean


def _audit_values(package: BookingPackage) -> dict:
    return {field: getattr(package, field) for field in FIELDS} | {"specialist_id": package.specialist_id}


def _with_derived_discount(package: BookingPackage, clean: dict) -> dict:
    """`clean` with the discount the price gives against the specialist's rate, so that the
    stored discount and the saving the pages show cannot disagree; a given discount stands
    only where no rate in the package's currency compares."""
    derived = discount_from_price(
        specialist_id=package.specialist_id, price=clean.get("price", package.price),
        session_count=clean.get("session_count", package.session_count),
        currency=clean.get("currency", package.currency))
    return clean if derived is None else {**clean, "discount_percentage": derived}


def package_create(*, actor, specialist_id: uuid.UUID, data: dict) -> BookingPackage:
    """A new package for `specialist_id` (the actor's own, unless the actor is an admin)."""
    package = BookingPackage(specialist_id=specialist_id)
    if not policies.can("create", actor, package):
        raise Forbidden("You may only create packages for yourself.")
    if db.session.get(SpecialistProfile, specialist_id) is None:
        raise ServiceError("Choose a specialist.", code="INVALID_REQUEST",
                           fields={"specialist_id": "Unknown specialist."})
    for key, value in _with_derived_discount(package, package_validate(data)).items():
        setattr(package, key, value)
    db.session.add(package)
    db.session.flush()
    audit_record(actor=actor, action="package_created", entity_type="booking_package",
                 entity_id=package.id, new_values=_audit_values(package))
    return package


def package_load(*, actor, package_id: Any, action: str = "view") -> BookingPackage:
    return policies.load(BookingPackage, package_id, actor, action=action, missing="No such package.",
                         refused="You may not change this package.")


def package_update(*, actor, package_id: Any, data: dict) -> BookingPackage:
    """Change some fields; unchanged values leave no audit row."""
    package = package_load(actor=actor, package_id=package_id, action="update")
    old, new = changed_fields(package, _with_derived_discount(package, package_validate(data, partial=True)))
    if new:
        for key, value in new.items():
            setattr(package, key, value)
        db.session.flush()
        audit_record(actor=actor, action="package_updated", entity_type="booking_package",
                     entity_id=package.id, old_values=old, new_values=new)
    return package


def package_set_active(*, actor, package_id: Any, active: bool) -> BookingPackage:
    return package_update(actor=actor, package_id=package_id, data={"is_active": bool(active)})


def package_delete(*, actor, package_id: Any) -> None:
    package = package_load(actor=actor, package_id=package_id, action="delete")
    audit_record(actor=actor, action="package_deleted", entity_type="booking_package",
                 entity_id=package.id, old_values=_audit_values(package))
    db.session.delete(package)
    db.session.flush()
