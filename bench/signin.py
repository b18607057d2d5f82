"""Sign a benchmark's test client in the way a browser does: the sign-in form, posted.

A session written by hand goes stale whenever the app changes what it keeps there (the user id
now carries the session version); posting the form uses whatever the app does today."""
from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def signed_in_client(app, email: str, password: str):
    """A test client of `app` signed in as `email`; exits the benchmark if the sign-in fails."""
    client = app.test_client()
    page = client.get("/login")
    form = {"email": email, "password": password}
    token = CSRF.search(page.get_data(as_text=True))
    if token:
        form["csrf_token"] = token.group(1)
    response = client.post("/login", data=form)
    if response.status_code != 302 or "/login" in response.location:
        raise SystemExit(f"signing in as {email} failed: {response.status_code} {response.location or ''}")
    return client
