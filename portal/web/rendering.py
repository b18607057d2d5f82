"""One template per page: the whole page, or one named block of it for htmx."""
from __future__ import annotations

from flask import render_template, request
from flask_htmx import make_response
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def is_history_restore() -> bool:
    return request.headers.get("HX-History-Restore-Request") == "true"


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page (a history restore wants the whole page)."""
    return bool(htmx) and not is_history_restore()


def render_page(template: str, block: str | None = None, status: int = 200, /, **context):
    """Render `template`, or only `block` when htmx asked for a partial, answering `status`.

    The three are positional-only, so every keyword is template context: a page may pass
    its own `status` (a filter, say) without it becoming the HTTP status.

    Vary: HX-Request is added to every response by the app, so a cache never
    hands the full page to htmx or a fragment to a browser. htmx's history
    restore (Back after its cache missed) sends HX-Request too, but swaps the
    answer in as the whole body: it always gets the whole page.
    """
    partial = block and wants_fragment()
    body = render_block(template, block, **context) if partial else render_template(template, **context)
    return make_response(body, status)
