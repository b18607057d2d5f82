"""Where an in-process request's time goes, beside its SQL (bench/statements.py): for bench/writes.py's
booking and cancellation.

A request's time is split into what it waits on and the Python around it:

- the database: reads, writes and commits (bench/statements.py), and the statements it does not
  count (transaction control, row-level security's role settings);
- Redis: the rate-limit counters (portal.web.rate_limits.over_limit, the `limits` library and its
  round trips) and waking delivery after the commit (portal.jobs.delivery.delivery_wake: a
  flag in Redis, and RQ's enqueue when the flag was not yet set);
- the Python: before the view (the test client, Werkzeug, Flask's routing and hooks, the session,
  the signed-in user), the view itself (parsing, the service's checks, building and flushing ORM
  objects), the JSON answer, and after the view (hooks, headers, teardown, reading the answer).

Each Python part is its wall time less the database and Redis time inside it, so the parts add up
to the request's time. Only bench code patches anything: the functions are wrapped where they are
looked up, and put back on leaving.

A delivery of the mail those writes owe (delivery_parts) is split the same way: the database
(claiming the batch, reading its recipients and bookings, recording the outcomes) and the Python
of each message: its content (mail_context: the booking's context, the .ics), the templates, the
MIME message composed, flattened and written to its file (no SMTP_URL, as in the benchmark), and
the rest (the ORM around the statements: the rows leased and read, the outcomes, the loop)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields

from bench.statements import Statements

PYTHON_PARTS = {"before_view": "before the view (Flask, the session, the user)",
                "view": "the view (parsing, checks, ORM objects)",
                "json": "the JSON answer", "after_view": "after the view"}
WAIT_PARTS = {"reads": "reads", "writes": "writes", "commit": "commit (and the flush's Python)",
              "control": "transaction control and role settings",
              "limits": "rate limits (Redis)", "wake": "delivery woken (Redis, RQ)"}


@dataclass
class Parts:
    """Seconds, for one request."""

    reads: float = 0.0
    writes: float = 0.0
    commit: float = 0.0
    control: float = 0.0
    limits: float = 0.0
    wake: float = 0.0
    before_view: float = 0.0
    view: float = 0.0
    json: float = 0.0
    after_view: float = 0.0

    @property
    def total(self) -> float:
        return sum(getattr(self, f.name) for f in fields(self))


class _Clock:
    """Running totals of the waits; marks taken as the view begins and ends."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements
        self.limits = self.wake = self.json = 0.0
        self.marks: list[tuple[float, float]] = []  # (perf_counter, waits so far)

    def waits(self) -> float:
        # Waking delivery runs in the session's after-commit hook, inside the commit's time.
        return _statement_seconds(self.statements) + self.limits

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), self.waits()))


def _statement_seconds(s: Statements) -> float:
    return s.read_seconds + s.write_seconds + s.commit_seconds + s.control_seconds


def _wrap_each(undo: ExitStack, patches: list[tuple], wrap) -> None:
    """Each (owner, name, part) wrapped where it is looked up, put back as `undo` closes."""
    for owner, name, part in patches:
        original = getattr(owner, name)
        setattr(owner, name, wrap(original, part))
        undo.callback(setattr, owner, name, original)


def _timed(function, clock: _Clock, part: str):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            setattr(clock, part, getattr(clock, part) + time.perf_counter() - started)
    return wrapper


def _marked(view, clock: _Clock):
    def wrapper(*args, **kwargs):
        clock.mark()
        try:
            return view(*args, **kwargs)
        finally:
            clock.mark()
    return wrapper


@contextmanager
def request_parts(app, endpoints: list[str], statements: Statements) -> Iterator[Parts]:
    """Time one request (made inside the block) to one of `endpoints`, whose statements
    `statements` is counting; the Parts are filled in as the block ends."""
    import portal.jobs.delivery
    import portal.web.rate_limits

    clock, parts = _Clock(statements), Parts()
    patches = [(portal.web.rate_limits, "over_limit", "limits"), (portal.jobs.delivery, "delivery_wake", "wake"),
               (app.json, "response", "json")]
    with ExitStack() as undo:
        _wrap_each(undo, patches, lambda original, part: _timed(original, clock, part))
        for endpoint in endpoints:
            view = app.view_functions[endpoint]
            app.view_functions[endpoint] = _marked(view, clock)
            undo.callback(app.view_functions.__setitem__, endpoint, view)
        started, waits_before = time.perf_counter(), clock.waits()
        json_before = clock.json
        yield parts
        ended, waits_after = time.perf_counter(), clock.waits()
    # A request refused before its view (a limit, a bad token) spent it all before the view.
    (view_start, waits_at_view), (view_end, waits_after_view) = (
        (clock.marks[0], clock.marks[-1]) if clock.marks else ((ended, waits_after), (ended, waits_after)))
    s = statements
    parts.reads, parts.writes, parts.control = s.read_seconds, s.write_seconds, s.control_seconds
    parts.commit = s.commit_seconds - clock.wake
    parts.limits, parts.wake, parts.json = clock.limits, clock.wake, clock.json - json_before
    parts.before_view = (view_start - started) - (waits_at_view - waits_before)
    parts.view = (view_end - view_start) - (waits_after_view - waits_at_view) - parts.json
    parts.after_view = (ended - view_end) - (waits_after - waits_after_view)


def describe(parts: list[Parts]) -> str:
    """Mean milliseconds per part over the requests: the waits, then the Python."""
    def mean_ms(name: str) -> float:
        return 1000 * sum(getattr(p, name) for p in parts) / len(parts)

    waits = " + ".join(f"{label} {mean_ms(name):.1f}" for name, label in WAIT_PARTS.items())
    python = " + ".join(f"{label} {mean_ms(name):.1f}" for name, label in PYTHON_PARTS.items())
    total = 1000 * sum(p.total for p in parts) / len(parts)
    return f"{total:.1f} ms (mean) = waits: {waits}; Python: {python}"


DELIVERY_PARTS = {"content": "the message's content (booking, .ics)", "templates": "templates",
                  "compose": "the MIME message", "write": "flattened and written",
                  "rest": "the rest (the ORM around the statements)"}


@dataclass
class DeliveryParts:
    """Seconds, for one delivery of a batch of messages."""

    messages: int = 0
    statements: int = 0
    database: float = 0.0
    content: float = 0.0
    templates: float = 0.0
    compose: float = 0.0
    write: float = 0.0
    rest: float = 0.0


def _python_of(function, parts: DeliveryParts, part: str, statements: Statements):
    """`function`, its wall time less the statements' time inside it added to `part`."""
    def wrapper(*args, **kwargs):
        started, waited = time.perf_counter(), _statement_seconds(statements)
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started - (_statement_seconds(statements) - waited)
            setattr(parts, part, getattr(parts, part) + spent)
    return wrapper


@contextmanager
def delivery_parts(statements: Statements) -> Iterator[DeliveryParts]:
    """Time one delivery (made inside the block, `statements` counting its SQL) by part; the caller
    sets `messages`. The parts are filled in as the block ends and add up to its time."""
    import portal.services.mail_delivery as delivery
    import portal.services.mail_delivery.rendering as rendering

    parts = DeliveryParts()
    patches = [(rendering, "build", "content"), (rendering, "_render_pair", "templates"),
               (delivery, "compose", "compose"), (delivery, "mail_to_instance_folder", "write")]
    with ExitStack() as undo:
        _wrap_each(undo, patches, lambda original, part: _python_of(original, parts, part, statements))
        started, waited = time.perf_counter(), _statement_seconds(statements)
        yield parts
        ended = time.perf_counter()
    parts.database = _statement_seconds(statements) - waited
    parts.rest = (ended - started) - parts.database - sum(getattr(parts, name) for name in DELIVERY_PARTS
                                                          if name != "rest")


def describe_delivery(deliveries: list[DeliveryParts]) -> str:
    """Mean milliseconds per message, by part, over the deliveries."""
    messages = sum(d.messages for d in deliveries)
    if not messages:
        return "no messages"

    def per_message_ms(name: str) -> float:
        return 1000 * sum(getattr(d, name) for d in deliveries) / messages

    python = " + ".join(f"{label} {per_message_ms(name):.1f}" for name, label in DELIVERY_PARTS.items())
    total = per_message_ms("database") + sum(per_message_ms(name) for name in DELIVERY_PARTS)
    statements = sum(d.statements for d in deliveries) / messages
    return (f"{messages} messages, {statements:.1f} statements and {total:.1f} ms a message (mean) = "
            f"the database {per_message_ms('database'):.1f}; Python: {python}")
