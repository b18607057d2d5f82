"""Jinja globals and filters: policy checks for buttons, times in the viewer's zone."""
from __future__ import annotations

from datetime import date, datetime
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


HUMAN_DATE_FORMAT = "%a %d %b %Y"


def human_date(value: date | datetime | None) -> str:
    """A calendar date as people read it ("Mon 07 Jan 2030"), the pages' one date format."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(viewer_zone()).date()
    return value.strftime(HUMAN_DATE_FORMAT)


def date_range(first: date | None, last: date | None) -> str:
    """Two dates as a range ("07 Jan – 13 Jan 2030"), the year said once when both share it."""
    if first is None or last is None:
        return human_date(first or last)
    if first.year == last.year:
        return f"{first:%d %b} – {last:%d %b %Y}"
    return f"{first:%d %b %Y} – {last:%d %b %Y}"


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


def series_time(series) -> str:
    """A series' time of day in the viewer's zone, with the specialist's clock in brackets when it
    reads differently (on the next date it books, so summer time is taken into account)."""
    theirs = zone_named(series.specialist_user.timezone)
    day = series.next_booking_date or date.today()
    at = datetime.combine(day, series.time_of_day, tzinfo=theirs)
    mine = at.astimezone(viewer_zone())
    if mine.strftime("%H:%M") == at.strftime("%H:%M"):
        return at.strftime("%H:%M")
    return f"{mine:%H:%M} ({at:%H:%M} {theirs.key.replace('_', ' ')})"


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
        account_links=account_links, offers_api_tokens=offers_api_tokens,
        page_url=page_url, series_time=series_time,
    )
    from portal.selectors.packages import package_pricing_now

    app.jinja_env.globals["package_pricing"] = package_pricing_now
    from portal.selectors.enrolments import expires_soon

    app.jinja_env.globals["enrolment_expires_soon"] = expires_soon
    from portal.selectors.services import package_service_names

    app.jinja_env.globals["package_services"] = package_service_names
    from portal.selectors.meetings import join_open
    from portal.web.meetings import booking_intake, client_intake, session_place

    app.jinja_env.globals.update(session_place=session_place, join_open=join_open, booking_intake=booking_intake,
                                 client_intake=client_intake)
    from portal.web.fields import browser_zone_aliases

    app.jinja_env.globals["browser_zone_aliases"] = browser_zone_aliases
    app.jinja_env.filters.update(local_datetime=_local_datetime_filter, local_time=_local_time_filter, money=money,
                                 human_date=human_date, date_range=date_range)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_viewer():
        zone = viewer_zone()
        return {"viewer_timezone": zone.key}


# The main navigation: the pages a role opens every day, each visible in the header from 1024 px.
NAV_LINKS = {
    Role.PATIENT: [("patient.dashboard", "My bookings"), ("specialists.index", "Find a specialist"),
                   ("patient.my_packages", "My packages"), ("recurring.index", "Recurring")],
    Role.SPECIALIST: [("specialist.dashboard", "Schedule"), ("specialist.calendar", "Calendar"),
                      ("specialist.clients", "Clients"), ("specialist.availability", "Hours and rates"),
                      ("specialist.packages", "Packages"), ("specialist.notes", "Notes"),
                      ("recurring.index", "Recurring")],
    Role.ADMIN: [("admin.dashboard", "Overview"), ("admin.users_list", "Users"), ("admin.bookings", "Bookings"),
                 ("admin.cancellations", "Cancellations"), ("admin.packages", "Packages"),
                 ("recurring.index", "Recurring")],
    Role.OPS: [("admin.ops_dashboard", "Operations"), ("admin.outbox", "Outbox")],
}

# The account menu: settings (as sections of /account) and the pages a role opens now and then.
_SETTINGS = [("account.settings", "", "Settings"), ("account.settings", "calendar-feed", "Calendar feed"),
             ("account.settings", "reminders", "E-mail reminders")]
_TOKENS = [("account.settings", "api-tokens", "API tokens")]
ACCOUNT_LINKS = {
    Role.PATIENT: [*_SETTINGS, ("account.data", "", "Your data and privacy")],
    Role.SPECIALIST: [*_SETTINGS, *_TOKENS],
    Role.ADMIN: [*_SETTINGS, *_TOKENS, ("admin.audit_log", "", "Audit log"), ("terms.edit", "", "The clinic's terms"),
                 ("admin.ops_dashboard", "", "Operations"), ("admin.outbox", "", "Outbox")],
    Role.OPS: [*_SETTINGS, *_TOKENS],
}


def nav_links(user) -> list[tuple[str, str]]:
    """The main navigation for a role; features append their pages here."""
    return NAV_LINKS.get(getattr(user, "role", None), [])


def account_links(user) -> list[tuple[str, str, str]]:
    """The account menu for a role: (endpoint, section anchor or "", label)."""
    return ACCOUNT_LINKS.get(getattr(user, "role", None), [])


def offers_api_tokens(user) -> bool:
    """The settings page offers API tokens to staff; a patient's are issued by an admin or the CLI."""
    return getattr(user, "role", None) in (Role.SPECIALIST, Role.ADMIN, Role.OPS)
