"""bench/load.py starts everything it needs and takes it all down again (a few seconds of load, no
figures asserted: speed goals live in the bench's own output), on PostgreSQL + Redis and, with
--sqlite, on the embedded default."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.scratch_db import psycopg_url

ROOT = Path(__file__).resolve().parent.parent

KEYS = {"rps", "p95_ms", "errors", "bare_rps", "ratio", "floor_rps", "floor_ratio", "database"}


def _run_load(env: dict, *args: str) -> tuple[subprocess.Popen, str, dict]:
    """bench/load.py with `args`: the finished process, its output and its JSON line, which holds
    every key, no error and some traffic in each phase."""
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "load.py"), *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output
    summary = json.loads(output.strip().splitlines()[-1])
    assert set(summary) == KEYS
    assert summary["errors"] == 0 and summary["rps"] > 0 and summary["bare_rps"] > 0 and summary["floor_rps"] > 0
    return process, output, summary


@pytest.mark.postgres
@pytest.mark.redis
def test_load_bench_runs_checks_and_cleans_up(postgres_only, redis_url, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_url}
    process, output, summary = _run_load(env, "--users", "4", "--seconds", "3", "--bare-seconds", "4",
                                         "--floor-seconds", "4", "--workers", "2", "--specialists", "4",
                                         "--patients", "10")
    assert summary["database"] == "postgresql"
    assert "patient: slot list" in output and "bare fragment" in output and "signed-in floor" in output
    assert '"double_booked_specialist": 0' in output and '"dispatcher": "finished"' in output
    admin = sa.create_engine(psycopg_url(os.environ["DATABASE_URL"]).set(database="postgres"))
    with admin.connect() as conn:
        left = conn.scalar(sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE :name"),
                           {"name": f"bench_load_{process.pid}_%"})
    admin.dispose()
    assert left == 0
    port = int(re.search(r"up on 127\.0\.0\.1:(\d+)", output).group(1))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # gunicorn is gone
    from redis import Redis
    from rq import Queue, Worker

    connection = Redis.from_url(redis_url)
    assert Worker.all(queue=Queue(f"bench_load_{process.pid}", connection=connection)) == []  # and the worker
    connection.close()


# The PostgreSQL run of the suite covers the other variant; this one is the embedded default's.
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the SQLite run of the suite runs it")
def test_load_bench_on_sqlite_runs_without_redis_and_loses_nothing(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "DATABASE_URL")}
    env["TMPDIR"] = str(tmp_path)  # the work folder (the SQLite file among it) lands here
    _process, output, summary = _run_load(env, "--sqlite", "--users", "4", "--seconds", "5", "--bare-seconds", "4",
                                          "--floor-seconds", "5", "--specialists", "4", "--patients", "10")
    assert summary["database"] == "sqlite"
    assert "2 workers, 8 threads each" in output and "no Redis" in output
    assert '"double_booked_specialist": 0' in output and '"lost": 0' in output
    # No worker ran it: the ops user's own request did, and the database recorded it a success.
    assert '"dispatcher": "finished"' in output
    assert list(tmp_path.iterdir()) == []  # the work folder and its database are gone
    port = int(re.search(r"up on 127\.0\.0\.1:(\d+)", output).group(1))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # gunicorn is gone
