"""Who may see and change what, for every table.

- `visible(Model, user)`, a WHERE clause, and `can(action, user, row)`, yes or no for
  one row: the row rules (portal.policies.rules, one Policy per table);
- `load(Model, id, user)`: the one loader of a row the user may see, raising
  NotFound or Forbidden (portal.policies.loading).

Which roles may open a route is the role blueprints' guard (portal.web.blueprints)."""
from portal.policies.base import STAFF_ROLES, is_admin, is_ops
from portal.policies.loading import load
from portal.policies.meetings import can_see_location
from portal.policies.people import can_see_exception_reason
from portal.policies.records import ACCOUNT_MAIL_TEMPLATES, can_read_mail_body
from portal.policies.rules import (
    ACTIONS,
    can,
    can_cancel,
    can_mark_attendance,
    can_reschedule,
    may_book_for_others,
    policy_for,
    visible,
)

__all__ = ["ACCOUNT_MAIL_TEMPLATES", "ACTIONS", "STAFF_ROLES", "can", "can_cancel", "can_mark_attendance",
           "can_read_mail_body", "can_reschedule", "can_see_exception_reason", "can_see_location",
           "is_admin", "is_ops", "load",
           "may_book_for_others", "policy_for", "visible"]
