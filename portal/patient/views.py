from flask import request
from flask_login import current_user

from portal.patient.blueprint import bp
from portal.selectors.bookings import patient_dashboard
from portal.web.rendering import render_page


@bp.route("/")
def dashboard():
    sessions = patient_dashboard(user=current_user, past_page=request.args.get("page"))
    return render_page("patient/dashboard.html", "past_sessions", **sessions)
