"""Jinja globals and filters: policy checks for buttons, times in the viewer's zone."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_login import current_user
from jinja2 import pass_context

from portal import policies
from portal.domain.zones import zone_named, zone_of
from portal.models import Role


def viewer_zone() -> ZoneInfo:
    return zone_of(current_user)


LOCAL_DATETIME_FORMAT = "%a %d %b %Y, %H:%M"


def local_datetime(value: datetime | None, fmt: str = LOCAL_DATETIME_FORMAT) -> str:
    if value is None:
        return ""
    return value.astimezone(viewer_zone()).strftime(fmt)


def local_time(value: datetime | None) -> str:
    return local_datetime(value, "%H:%M")


def _context_zone(context) -> ZoneInfo:
    """The viewer's zone as the page's context already holds it (inject_viewer), rather than through
    current_user for every time on the page; a macro imported without context falls back."""
    name = context.get("viewer_timezone")
    if not name:
        return viewer_zone()
    return zone_named(name)


@pass_context
def _local_datetime_filter(context, value: datetime | None, fmt: str = LOCAL_DATETIME_FORMAT) -> str:
    return "" if value is None else value.astimezone(_context_zone(context)).strftime(fmt)


@pass_context
def _local_time_filter(context, value: datetime | None) -> str:
    return _local_datetime_filter(context, value, "%H:%M")


def money(amount: Decimal | float | None, currency: str = "") -> str:
    if amount is None:
        return ""
    return f"{Decimal(amount):,.2f} {currency}".strip()


def page_url(number: int) -> str:
    """This page's URL at page `number`, keeping its filters (empty ones dropped)."""
    args = {key: value for key, value in request.args.items() if value and key != "page"}
    return url_for(request.endpoint, **(request.view_args or {}), **args, page=number)


def configure_jinja(app: Flask) -> None:
    app.jinja_env.globals.update(
        can=lambda action, row: policies.can(action, current_user, row), nav_links=nav_links,
        page_url=page_url,
    )
    from portal.selectors.packages import package_pricing_now

    app.jinja_env.globals["package_pricing"] = package_pricing_now
    from portal.selectors.enrolments import expires_soon

    app.jinja_env.globals["enrolment_expires_soon"] = expires_soon
    from portal.web.fields import browser_zone_aliases

    app.jinja_env.globals["browser_zone_aliases"] = browser_zone_aliases
    app.jinja_env.filters.update(local_datetime=_local_datetime_filter, local_time=_local_time_filter, money=money)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_viewer():
        zone = viewer_zone()
        return {"viewer_timezone": zone.key}


NAV_LINKS = {
    Role.PATIENT: [("patient.dashboard", "My bookings"), ("specialists.index", "Find a specialist"),
                   ("patient.my_packages", "My packages"), ("recurring.index", "Recurring"),
                ("feeds.settings", "Calendar feed"), ("mail.settings", "E-mail")],
    Role.SPECIALIST: [("specialist.dashboard", "Schedule"), ("specialist.calendar", "Calendar"),
                   ("specialist.clients", "Clients"),
                   ("specialist.availability", "Hours and rates"), ("specialist.packages", "Packages"),
                   ("specialist.notes", "Notes"), ("recurring.index", "Recurring"),
                   ("feeds.settings", "Calendar feed"), ("mail.settings", "E-mail")],
    Role.ADMIN: [("admin.dashboard", "Overview"), ("admin.audit_log", "Audit log"), ("admin.users_list", "Users"),
              ("admin.bookings", "Bookings"), ("admin.cancellations", "Cancellations"), ("admin.packages", "Packages"),
              ("recurring.index", "Recurring"),
              ("admin.ops_dashboard", "Operations"), ("admin.outbox", "Outbox")],
    Role.OPS: [("admin.ops_dashboard", "Operations"), ("admin.outbox", "Outbox")],
}


def nav_links(user) -> list[tuple[str, str]]:
    """The main navigation for a role; features append their pages here."""
    return NAV_LINKS.get(getattr(user, "role", None), [])
