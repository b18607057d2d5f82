"""The test app served on a free 127.0.0.1 port in a thread, for tests that need a real HTTP server
(the browser tests, the API fuzzer)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


def _closing(app):
    """The app with each response read whole and closed at once. Werkzeug's server closes a
    response only after draining the request, and a browser that drops the connection first (a
    favicon it no longer wants) makes that read fail: the static file stayed open and its
    ResourceWarning failed whichever test was running when it was collected."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The server's base URL for the block; shut down afterwards."""
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
