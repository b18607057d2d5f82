"""bench/load.py starts everything it needs and takes it all down again (a few seconds of load, no
figures asserted: speed goals live in the bench's own output)."""
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

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_load_bench_runs_checks_and_cleans_up(postgres_only, redis_url, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_url}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--users", "4", "--seconds", "3", "--bare-seconds", "4",
         "--floor-seconds", "4", "--workers", "2", "--specialists", "4", "--patients", "10"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = process.communicate(timeout=180)

    assert process.returncode == 0, output
    summary = json.loads(output.strip().splitlines()[-1])
    assert set(summary) == {"rps", "p95_ms", "errors", "bare_rps", "ratio", "floor_rps", "floor_ratio"}
    assert summary["errors"] == 0 and summary["rps"] > 0 and summary["bare_rps"] > 0 and summary["floor_rps"] > 0
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
