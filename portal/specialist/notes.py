"""The specialist's own session notes, newest first, searchable."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from portal.selectors.notes import notes_visible
from portal.specialist.blueprint import bp
from portal.web.rendering import render_page

PER_PAGE = 25


@bp.route("/notes")
def notes():
    query = request.args.get("q", "")[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total, rows = notes_visible(user=current_user, provider_id=current_user.id, query=query,
                                page=page, per_page=PER_PAGE)
    return render_page("specialist/notes.html", "notes_results", notes=rows, total=total, q=query,
                       page=page, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1))
