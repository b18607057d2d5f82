"""With several processes the write limit is counted in Redis (RATELIMIT_STORAGE_URI), as the
login limits are: writes made by one process count in another."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from portal import create_app
from portal.extensions import limiter
from tests.conftest import make_test_config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from pathlib import Path
from portal import create_app
from tests.conftest import make_test_config
config = make_test_config(sys.argv[1], Path(sys.argv[2]))
config.update(json.loads(sys.argv[3]))
app = create_app(config, instance_path=sys.argv[2])
client = app.test_client()
print(json.dumps([client.post("/login", data={"email": "nobody@example.test", "password": "wrong"}).status_code
                  for _ in range(2)]))
"""


def test_write_counts_are_shared_through_redis(database_url, instance_dir, _app, redis_url, committed_db):
    """committed_db: the refused sign-ins are audited in both processes' own commits; it empties
    the tables afterwards, so later tests do not find those rows."""
    settings = {"RATELIMIT_STORAGE_URI": redis_url, "WRITE_RATE_LIMIT": "2 per minute",
                "LOGIN_RATE_LIMIT": "1000 per minute"}
    config = {**make_test_config(database_url, instance_dir), **settings}
    app = create_app(config, instance_path=str(instance_dir))
    try:
        with app.app_context():
            limiter.reset()
        other_process = subprocess.run(
            [sys.executable, "-c", SCRIPT, database_url, str(instance_dir), json.dumps(settings)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
        assert json.loads(other_process.stdout.strip().splitlines()[-1]) == [400, 400]
        response = app.test_client().post("/login", data={"email": "nobody@example.test", "password": "wrong"})
        assert response.status_code == 429 and "Retry-After" in response.headers
        with app.app_context():
            limiter.reset()
    finally:
        limiter.init_app(_app)  # the suite's app counts in memory again
