from flask import redirect, request, url_for
from flask_login import current_user

from portal.patient.blueprint import bp
from portal.selectors.bookings import patient_dashboard
from portal.web.rendering import render_page


@bp.route("/")
def dashboard():
    sessions = patient_dashboard(user=current_user, past_page=request.args.get("page"))
    return render_page("patient/dashboard.html", "past_sessions", **sessions)


@bp.route("/specialists/<path:rest>")
def old_specialist_pages(rest):
    """Links in e-mails sent before the directory was public lead on to it."""
    target = url_for("specialists.index") + f"/{rest}"
    query = request.query_string.decode()
    return redirect(f"{target}?{query}" if query else target, 301)
