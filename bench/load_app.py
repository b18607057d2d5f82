"""The WSGI entry bench/load.py serves: the portal as wsgi.py builds it, plus one bench-only
route, GET /bench/bare, a fragment rendering a few rows read with one query. Its throughput,
through the same server, app, middleware and hooks, is the ceiling the portal's pages are
measured against. The portal itself has no such route.

    gunicorn -w 4 -b 127.0.0.1:8000 bench.load_app:app
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Blueprint

from portal import create_app
from portal.extensions import db

BARE = """<ul class="plain-list" id="bare">
{% for row in rows %}  <li><span>{{ row.display_name }}</span> · <span class="muted">{{ row.timezone }}</span></li>
{% endfor %}</ul>
"""

bare = Blueprint("bench_bare", __name__)


@bare.route("/bench/bare")
def bare_fragment():
    rows = db.session.execute(sa.text(
        "SELECT display_name, timezone FROM users WHERE role = 'specialist' ORDER BY email LIMIT 5")).all()
    return bare.template.render(rows=rows)


app = create_app()
# Plain http on loopback: the production setting's Secure cookie would never come back.
if os.environ.get("BENCH_INSECURE_COOKIES"):
    app.config.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
bare.template = app.jinja_env.from_string(BARE)
app.register_blueprint(bare)
