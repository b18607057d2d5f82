"""The population bench/load.py runs under locust (headless): a clinic's Monday morning.

Not meant to be run on its own: bench/load.py seeds the accounts, writes their list to the JSON
file BENCH_LOAD_CAST names, serves the portal and reads back the ledger (BENCH_LOAD_LEDGER) of the
bookings each patient was told were made or cancelled, to check them in the database.

Every user works without think time (a closed loop), so the figures are throughput at that many
concurrent users. A response counts as an error when its status is not one the page may answer:
a 5xx, a 4xx other than a booking refused because someone took the slot first (422), a redirect
to the sign-in page.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import date, timedelta
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, task

CAST = json.loads(Path(os.environ["BENCH_LOAD_CAST"]).read_text()) if os.environ.get("BENCH_LOAD_CAST") else {}
# One line per booking made or cancelled, for bench/load.py to find in the database afterwards.
LEDGER = (open(os.environ["BENCH_LOAD_LEDGER"], "a", buffering=1)  # noqa: SIM115 -- open for the whole run
          if os.environ.get("BENCH_LOAD_LEDGER") else None)
CSRF = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
SLOT = re.compile(r'name="starts_at" value="([^"]+)"')
BOOKED = re.compile(r'href="/bookings/([0-9a-f-]{36})"')
UNBLOCK = re.compile(r'action="(/specialist/calendar/exceptions/[0-9a-f-]{36}/delete)"')
JOB = re.compile(r'/admin/ops/jobs/([0-9a-f-]{36})')
SEARCH_TERMS = ["", "", "Dr", "Physio", "Nutrition", "Sleep", "Coach", "psych", "Berg", "Load"]
HTMX = {"HX-Request": "true"}
_next = {role: itertools.count() for role in ("patients", "specialists", "admins", "ops")}
# A phase of signed-in users is measured from the moment the last of them has signed in, for
# PHASE_SECONDS: on a loaded machine the sign-ins alone can fill a short phase.
PHASE_SECONDS = float(os.environ.get("BENCH_LOAD_PHASE_SECONDS") or 0)
PHASE_USERS = int(os.environ.get("BENCH_LOAD_USERS") or 0)
_signed_in = itertools.count(1)


def ledger(*fields: str) -> None:
    if LEDGER is not None:
        LEDGER.write(" ".join(fields) + "\n")


class Member(FastHttpUser):
    """A signed-in account of `role` (each user its own account, taken in turn)."""

    abstract = True
    role = ""
    last_path = "/login"
    wait_time = constant(0)

    def on_start(self) -> None:
        accounts = CAST[self.role]
        self.email = accounts[next(_next[self.role]) % len(accounts)]
        page = self.client.get("/login", name="login page")
        self.csrf = CSRF.search(page.text).group(1)
        with self.client.post("/login", name="login", catch_response=True,
                              data={"email": self.email, "password": CAST["password"], "csrf_token": self.csrf}
                              ) as response:
            if "/login" in (response.url or ""):
                response.failure("still on the sign-in page")
        self.refresh_csrf(response.text)
        if next(_signed_in) == PHASE_USERS and PHASE_SECONDS:
            begin_measured_phase(self.environment)

    def refresh_csrf(self, text: str | None) -> None:
        found = CSRF.search(text or "")
        if found:
            self.csrf = found.group(1)

    def check(self, response, *allowed: int) -> bool:
        """Mark `response` failed unless its status is 2xx or in `allowed`; True if it is a 2xx."""
        if "/login" in (response.url or "") and "/login" not in self.last_path:
            response.failure("signed out")
            return False
        if 200 <= response.status_code < 300:
            response.success()
            return True
        if response.status_code in allowed:
            response.success()
            return False
        response.failure(f"status {response.status_code}")
        return False

    def get(self, path: str, name: str, *, htmx: bool = False) -> str | None:
        self.last_path = path
        with self.client.get(path, name=name, headers=HTMX if htmx else None, catch_response=True) as response:
            return response.text if self.check(response) else None

    def post(self, path: str, name: str, data: dict, *allowed: int, htmx: bool = True):
        self.last_path = path
        with self.client.post(path, name=name, data={**data, "csrf_token": self.csrf},
                              headers=HTMX if htmx else None, catch_response=True) as response:
            ok = self.check(response, *allowed)
            return ok, response.status_code, response.text


def begin_measured_phase(environment) -> None:
    """Everyone is signed in: count from here (a failed sign-in stays counted), end PHASE_SECONDS on."""
    stats = environment.runner.stats
    if not stats.total.num_failures:
        stats.reset_all()
    gevent.spawn_later(PHASE_SECONDS, environment.runner.quit)


class Patient(Member):
    """Finds a specialist, opens their slot list, books one of the slots, later cancels a booking."""

    role = "patients"
    weight = 11

    def on_start(self) -> None:
        super().on_start()
        self.slots: dict[str, list[str]] = {}
        self.booked: list[str] = []

    @task(3)
    def search(self) -> None:
        term = random.choice(SEARCH_TERMS)
        self.get(f"/specialists?q={term}" if term else "/specialists", "patient: search")

    @task(4)
    def slot_list(self) -> None:
        specialist = random.choice(CAST["specialist_ids"])
        text = self.get(f"/specialists/{specialist}", "patient: slot list")
        if text:
            self.refresh_csrf(text)
            self.slots[specialist] = SLOT.findall(text)

    @task(2)
    def book(self) -> None:
        choices = [(s, slots) for s, slots in self.slots.items() if slots]
        if not choices:
            return self.slot_list()
        specialist, slots = random.choice(choices)
        starts_at = slots.pop(random.randrange(len(slots)))
        ok, status, text = self.post(f"/specialists/{specialist}/book", "patient: book",
                                     {"starts_at": starts_at}, 422)
        if ok:
            found = BOOKED.search(text)
            if found:
                self.booked.append(found.group(1))
                ledger("booked", found.group(1))
            else:
                ledger("unreadable", specialist, starts_at)
        elif status == 422:
            ledger("refused", specialist, starts_at)

    @task(1)
    def cancel(self) -> None:
        if len(self.booked) < 2:
            return self.book()
        booking = self.booked.pop(random.randrange(len(self.booked)))
        ok, _, _ = self.post(f"/bookings/{booking}/cancel", "patient: cancel",
                             {"reason": "Something came up at work.", "target": "row"})
        if ok:
            ledger("cancelled", booking)

    @task(1)
    def dashboard(self) -> None:
        self.refresh_csrf(self.get("/patient/", "patient: dashboard"))


class Specialist(Member):
    """Opens the month calendar and day panels; blocks an hour of a coming day, then removes it."""

    role = "specialists"
    weight = 3

    def _day(self) -> str:
        return (date.today() + timedelta(days=random.randint(1, 27))).isoformat()

    @task(3)
    def calendar(self) -> None:
        self.refresh_csrf(self.get("/specialist/calendar", "specialist: calendar"))

    @task(4)
    def day_panel(self) -> None:
        self.get(f"/specialist/calendar/day/{self._day()}", "specialist: day panel", htmx=True)

    @task(1)
    def block_time(self) -> None:
        day = self._day()
        hour = random.randint(6, 20)
        ok, _, text = self.post(f"/specialist/calendar/day/{day}/exceptions", "specialist: block time",
                                {"reason": "personal", "span": "range", "kind": "unavailable",
                                 "start_time": f"{hour:02d}:00", "end_time": f"{hour + 1:02d}:00",
                                 "affected": "keep"})
        removal = UNBLOCK.findall(text or "") if ok else []
        for path in removal[:1]:
            self.post(path, "specialist: unblock", {"day": day})


class Admin(Member):
    """Pages through the audit log, now and then filtered to one kind of action."""

    role = "admins"
    weight = 1

    @task(4)
    def audit_page(self) -> None:
        self.get(f"/admin/audit?page={random.randint(1, 5)}", "admin: audit log")

    @task(1)
    def audit_filtered(self) -> None:
        self.get(f"/admin/audit?action=booking_created&page={random.randint(1, 3)}", "admin: audit log")


class Ops(Member):
    """Runs the dispatcher once, follows its job to the end (with Redis; without, the request runs
    it and answers when it is done), then watches the operations page."""

    role = "ops"
    fixed_count = 1
    wait_time = constant(1)  # a person watching a page that refreshes itself every second
    job: str | None = None

    @task
    def operate(self) -> None:
        if self.job is None:
            self.refresh_csrf(self.get("/admin/ops", "ops: operations"))
            ok, _, text = self.post("/admin/ops/dispatch", "ops: run dispatcher", {})
            found = JOB.search(text or "") if ok else None
            self.job = found.group(1) if found else ""
            if self.job:
                ledger("dispatch", self.job)
            elif ok and ("Dispatcher finished" in text or "dispatcher failed" in text):
                # No Redis: the request ran the dispatcher itself, and its answer is the outcome.
                ledger("dispatch-ran", "finished" if "Dispatcher finished" in text else "failed")
                self.job = "done"
            return
        if self.job and self.job != "done":
            text = self.get(f"/admin/ops/jobs/{self.job}", "ops: job", htmx=True) or ""
            if text and 'hx-trigger="every 1s"' not in text:
                ledger("dispatch-state", self.job, "failed" if "dispatcher failed" in text else "done")
                self.job = "done"
            return
        self.get("/admin/ops", "ops: operations")


class Floor(Member):
    """The floor of any signed-in page: a patient's data and privacy page, /account/data (the session,
    the user, the layout, one small form and one other query: their erasure requests, none here), on
    the same server and load generator as the mix. No patient page reads the user alone; this is the
    lightest that answers 200 directly."""

    role = "patients"

    @task
    def floor(self) -> None:
        self.get("/account/data", "signed-in floor")


class Bare(FastHttpUser):
    """The ceiling: a fragment rendering a few rows read with one query, through the same app and server."""

    wait_time = constant(0)

    @task
    def bare(self) -> None:
        self.client.get("/bench/bare", name="bare fragment")
