"""Old home of the availability reads and window arithmetic, kept only for the
recurring dispatcher: services/recurring_dispatch.py still imports these names
and is being split into a package on a parallel branch. Delete this module once
that package imports from portal.domain.intervals and portal.selectors.availability."""
from portal.domain.intervals import HoursRange, day_windows, interval_fits
from portal.selectors.availability import exceptions_of, hours_of

__all__ = ["HoursRange", "day_windows", "exceptions_of", "hours_of", "interval_fits"]
