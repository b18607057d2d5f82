"""The app gunicorn serves to the live-server tests: `gunicorn "tests.live_app:create()"`.

It is built like the test session's app, from the settings tests/live_server.py writes to the
JSON file named by LIVE_SETTINGS_ENV, so both processes share one database, instance folder,
secret key and recordings key. A second file, the control file, carries what a test changes
while the server runs: the frozen clock, and a new test (the rate limits start again)."""
from __future__ import annotations

import json
import os
from datetime import datetime
from functools import partial
from pathlib import Path

from flask import Flask

LIVE_SETTINGS_ENV = "PORTAL_LIVE_SETTINGS"
# Cheap hashes for test users; production keeps werkzeug's strong default.
FAST_PASSWORD_HASH = "pbkdf2:sha256:1000"


def use_fast_password_hashes() -> None:
    from werkzeug.security import generate_password_hash

    import portal.services.users as users_service

    users_service.generate_password_hash = partial(generate_password_hash, method=FAST_PASSWORD_HASH)


def create() -> Flask:
    from portal import create_app

    settings = json.loads(Path(os.environ[LIVE_SETTINGS_ENV]).read_text())
    use_fast_password_hashes()
    app = create_app(settings["config"], instance_path=settings["instance_path"])
    follow = ControlFile(Path(settings["control"]))
    app.before_request_funcs.setdefault(None, []).insert(0, follow)
    return app


class ControlFile:
    """Before each request: the clock and the rate limits as the test process last wrote them."""

    def __init__(self, path: Path) -> None:
        self.path, self.test = path, None

    def __call__(self) -> None:
        from portal import clock
        from portal.extensions import limiter

        control = json.loads(self.path.read_text())
        clock.pin_process(datetime.fromisoformat(control["now"]) if control["now"] else None)
        if control["test"] != self.test:
            self.test = control["test"]
            limiter.reset()
