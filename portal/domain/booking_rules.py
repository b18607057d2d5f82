"""Fair use: the booking rules a specialist sets, as pure checks (no database).

- max_upcoming_per_patient: how many active upcoming bookings one patient may hold with them;
- min_notice_hours: how soon after it is made a booking may start;
- booking_window_days: how far ahead a booking (or a series' start) may lie, never beyond the
  portal's MAX_BOOKING_AHEAD_DAYS.

Each check answers None when the rule allows the booking, else the refusal's code;
`refusal_message` words it. The services raise, the slot lists filter, the dispatcher
skips: all from these functions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

BOOKING_LIMIT_REACHED = "BOOKING_LIMIT_REACHED"
TOO_SHORT_NOTICE = "TOO_SHORT_NOTICE"
OUTSIDE_BOOKING_WINDOW = "OUTSIDE_BOOKING_WINDOW"
RULE_CODES = (BOOKING_LIMIT_REACHED, TOO_SHORT_NOTICE, OUTSIDE_BOOKING_WINDOW)

# Why a series occurrence was skipped (recurring_occurrence_skips.reason), beside the dispatcher's own.
SKIP_REASONS = {
    BOOKING_LIMIT_REACHED: "Booking limit reached: the patient already holds the most upcoming sessions "
                           "this specialist allows",
    TOO_SHORT_NOTICE: "Too short notice: inside the specialist's minimum notice when the series was created",
}

# The ranges the database's check constraints allow.
LIMITS = {
    "max_upcoming_per_patient": (1, 1000),
    "min_notice_hours": (0, 8760),
    "booking_window_days": (1, 3650),
    "buffer_before_minutes": (0, 120),
    "buffer_after_minutes": (0, 120),
    "slot_interval_minutes": (5, 240),
}
OPTIONAL_RULES = ("slot_interval_minutes",)  # None: the default the services give


@dataclass(frozen=True)
class BookingRules:
    max_upcoming_per_patient: int = 8
    min_notice_hours: int = 2
    booking_window_days: int = 365
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    slot_interval_minutes: int | None = None  # None: grid_default_minutes of the specialist's services

    def window_days(self, max_ahead_days: int) -> int:
        """The window in force: the specialist's, capped by the portal's."""
        return min(self.booking_window_days, max_ahead_days)

    def earliest_start(self, now: datetime) -> datetime:
        return now + timedelta(hours=self.min_notice_hours)

    def latest_start(self, now: datetime, max_ahead_days: int) -> datetime:
        return now + timedelta(days=self.window_days(max_ahead_days))


DEFAULT_RULES = BookingRules()
# What staff who override a specialist's rules still meet: the portal's own limit on how far ahead.
NO_RULES = BookingRules(max_upcoming_per_patient=2**31 - 1, min_notice_hours=0, booking_window_days=2**31 - 1)


def limit_refusal(rules: BookingRules, upcoming: int) -> str | None:
    """`upcoming`: the patient's active upcoming bookings with this specialist, before this one."""
    return BOOKING_LIMIT_REACHED if upcoming >= rules.max_upcoming_per_patient else None


def limit_headroom(rules: BookingRules, new: int) -> int:
    """The most active upcoming bookings a patient may already hold with this specialist for `new`
    more to pass limit_refusal one after the other."""
    return rules.max_upcoming_per_patient - new


def notice_refusal(rules: BookingRules, starts_at: datetime, now: datetime) -> str | None:
    return TOO_SHORT_NOTICE if starts_at < rules.earliest_start(now) else None


def window_refusal(rules: BookingRules, starts_at: datetime, now: datetime, max_ahead_days: int) -> str | None:
    return OUTSIDE_BOOKING_WINDOW if starts_at > rules.latest_start(now, max_ahead_days) else None


def start_date_refusal(rules: BookingRules, start_date: date, today: date, max_ahead_days: int) -> str | None:
    """A series' start date (a local date) against the window, counted in whole days."""
    return OUTSIDE_BOOKING_WINDOW if start_date > today + timedelta(days=rules.window_days(max_ahead_days)) else None


def allowed_slots(slots: list, rules: BookingRules, now: datetime, max_ahead_days: int,
                  upcoming: int | None = None) -> list:
    """The (start, end) slots these rules allow; none once the patient (whose `upcoming`
    count is given) holds as many as the specialist allows."""
    if upcoming is not None and limit_refusal(rules, upcoming):
        return []
    earliest, latest = rules.earliest_start(now), rules.latest_start(now, max_ahead_days)
    return [slot for slot in slots if earliest <= slot[0] <= latest]


def refusal_message(code: str, rules: BookingRules, max_ahead_days: int) -> str:
    if code == BOOKING_LIMIT_REACHED:
        n = rules.max_upcoming_per_patient
        return (f"This specialist takes at most {n} upcoming session{'s' if n != 1 else ''} per patient. "
                "You can book another once one of them has taken place or been cancelled.")
    if code == TOO_SHORT_NOTICE:
        h = rules.min_notice_hours
        return f"This specialist needs at least {h} hour{'s' if h != 1 else ''}' notice. Please pick a later time."
    days = rules.window_days(max_ahead_days)
    return f"This specialist takes bookings up to {days} days ahead. Please pick an earlier date."


def rules_errors(values: dict, max_ahead_days: int) -> dict[str, str]:
    """Field errors for new rule values (whole numbers in range, the window within the portal's)."""
    errors = {}
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if value is None and name in OPTIONAL_RULES:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = "A whole number."
        elif not low <= value <= high:
            errors[name] = f"Between {low} and {high}."
    window = values.get("booking_window_days")
    if "booking_window_days" not in errors and window > max_ahead_days:
        errors["booking_window_days"] = f"At most {max_ahead_days} days (the portal's limit)."
    return errors
