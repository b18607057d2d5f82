"""Each benchmark runs at a tiny size: it starts, signs in the way the app does, measures and
prints its JSON line. The figures are not judged here (bench/README.md holds them); a change
that breaks a benchmark fails the suite instead of waiting for the next person who runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


def run_bench(*args: str, **env: str) -> dict:
    """The benchmark's last line, parsed; it makes and drops its own scratch databases."""
    return run_bench_printing(*args, **env)[0]


def run_bench_printing(*args: str, **env: str) -> tuple[dict, str]:
    """The benchmark's last line, parsed, and what it printed to stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | env
    process = subprocess.run([sys.executable, str(ROOT / "bench" / args[0]), *args[1:]], cwd=ROOT,
                             env=environment, capture_output=True, text=True, timeout=180)
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1]), process.stderr


def test_audit_bench_signs_in_as_an_admin_and_times_the_pages(postgres_only):
    figures = run_bench("audit.py", "2000", BENCH_ROUNDS="4", BENCH_CSV="0")

    assert set(figures) == {"audit_page_p50_ms", "audit_page_p95_ms"}
    assert 0 < figures["audit_page_p50_ms"] <= figures["audit_page_p95_ms"]


def test_slots_bench_signs_in_as_a_specialist_and_times_slots_service_slots_and_calendar(postgres_only):
    figures = run_bench("slots.py", "--specialists", "20", "--requests", "3")

    timed = {"slots_p50_ms", "slots_p95_ms", "service_slots_p50_ms", "service_slots_p95_ms",
             "calendar_p50_ms", "calendar_p95_ms"}
    assert set(figures) == timed | {f"{key}_rls_off" for key in timed}
    assert 0 < figures["slots_p50_ms"] <= figures["slots_p95_ms"]
    assert 0 < figures["service_slots_p50_ms"] <= figures["service_slots_p95_ms"]
    assert 0 < figures["calendar_p50_ms"] <= figures["calendar_p95_ms"]
    assert 0 < figures["slots_p50_ms_rls_off"] <= figures["slots_p95_ms_rls_off"]


def test_dispatch_bench_books_the_due_series_and_times_the_bare_sql(postgres_only):
    figures = run_bench("dispatch.py", "--series", "200", "--create", "3", "--no-settle")

    assert set(figures) == {"series", "workers", "dispatch_s", "bookings_per_s", "bare_sql_s", "ratio",
                            "bare_unguarded_s", "ratio_unguarded", "create_n", "create_p50_ms", "create_p95_ms",
                            "create_booked"}
    assert figures["series"] == 200 and figures["workers"] >= 1
    assert figures["bookings_per_s"] > 0 and figures["bare_sql_s"] > 0 and figures["ratio"] > 0
    assert figures["create_n"] == 3 and figures["create_booked"] > 0


@pytest.mark.redis
def test_writes_bench_books_and_cancels_through_the_app_and_bare(postgres_only, redis_url):
    figures, printed = run_bench_printing("writes.py", "--clients", "2", "--seconds", "1", "--rounds", "1",
                                          "--in-process", "2", REDIS_URL=redis_url)

    assert set(figures) == {"booking_rps", "booking_bare_rps", "booking_ratio", "cancel_rps", "cancel_bare_rps",
                            "cancel_ratio", "booking_statements", "cancel_statements", "errors"}
    assert figures["errors"] == 0
    assert figures["booking_rps"] > 0 and figures["booking_bare_rps"] > 0 and figures["booking_ratio"] > 0
    assert figures["cancel_rps"] > 0 and figures["cancel_bare_rps"] > 0 and figures["cancel_ratio"] > 0
    assert figures["booking_statements"] >= 5 and figures["cancel_statements"] >= 5
    # Two pairs in-process: each booking's two confirmations and each cancellation's notice, delivered.
    assert "their mail delivered in-process: 6 messages, " in printed
