"""The specialist's own session notes, newest first, searchable."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from portal.selectors.notes import notes_visible
from portal.specialist.blueprint import bp
from portal.web.access import log_reads
from portal.web.rendering import render_page

PER_PAGE = 25


@bp.route("/notes")
def notes():
    query = request.args.get("q", "")[:200]
    results = notes_visible(user=current_user, provider_id=current_user.id, query=query,
                            page=request.args.get("page"), per_page=PER_PAGE)
    log_reads(results.items)
    return render_page("specialist/notes.html", "notes_results", notes=results.items, total=results.total,
                       q=query, results=results)
