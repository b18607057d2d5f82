from flask_login import current_user

from portal.patient.blueprint import bp
from portal.web.rendering import render_page
from portal.selectors.bookings import bookings_for_dashboard


@bp.route("/")
def dashboard():
    upcoming, past = bookings_for_dashboard(user=current_user)
    return render_page("patient/dashboard.html", upcoming=upcoming, past=past)
