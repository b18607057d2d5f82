"""The portal under gunicorn on a free 127.0.0.1 port, as production serves it, for the tests that
need a real HTTP server (the browser tests, the API fuzzer).

One server per test session: it shares the test database (tests commit through `committed_db`),
and a test changes what it needs of the server's state through the control file
(tests/live_app.py): `frozen(at)` moves both processes' clock, `next_test()` starts the rate
limits again."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from portal import clock
from tests.live_app import LIVE_SETTINGS_ENV

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """gunicorn serving tests.live_app with `config`; `url` while it runs."""

    def __init__(self, config: dict, instance_path: str, workdir: Path) -> None:
        self.workdir, self.tests, self.now = workdir, 0, None
        self.control = workdir / "control.json"
        self.log = workdir / "gunicorn.log"
        self.settings = workdir / "settings.json"
        self.settings.write_text(json.dumps({"config": config, "instance_path": instance_path,
                                             "control": str(self.control)}))
        self._write_control()
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                   "--threads", "4", "--timeout", "120", "--graceful-timeout", "5", "--chdir", str(ROOT),
                   "--error-logfile", str(self.log), "tests.live_app:create()"]
        env = {**os.environ, LIVE_SETTINGS_ENV: str(self.settings)}
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start; its log:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def next_test(self) -> None:
        """A new test: the rate limits start again."""
        self.tests += 1
        self._write_control()

    @contextmanager
    def frozen(self, at: datetime) -> Iterator[None]:
        """clock.frozen(at) in this process and in the server's."""
        previous = self.now
        with clock.frozen(at):
            self.now = clock.now()
            self._write_control()
            try:
                yield
            finally:
                self.now = previous
                self._write_control()

    def _write_control(self) -> None:
        written = self.control.with_suffix(".tmp")
        written.write_text(json.dumps({"now": self.now.isoformat() if self.now else None, "test": self.tests}))
        os.replace(written, self.control)  # the server never reads half a file


@contextmanager
def serving(config: dict, instance_path: str, workdir: Path) -> Iterator[LiveServer]:
    """A started LiveServer for the block; stopped afterwards."""
    server = LiveServer(config, instance_path, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
