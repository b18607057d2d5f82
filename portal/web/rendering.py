"""One template per page: the whole page, or one named block of it for htmx."""
from __future__ import annotations

from flask import render_template
from flask_htmx import make_response
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def render_page(template: str, block: str | None = None, *, status: int = 200, **context):
    """Render `template`, or only `block` when htmx asked for a partial.

    Vary: HX-Request is added to every response by the app, so a cache never
    hands the full page to htmx or a fragment to a browser.
    """
    body = render_block(template, block, **context) if block and htmx else render_template(template, **context)
    return make_response(body, status)
