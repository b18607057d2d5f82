from flask_login import current_user

from portal.web.rendering import render_page
from portal.selectors.bookings import bookings_for_dashboard
from portal.specialist.blueprint import bp


@bp.route("/")
def dashboard():
    upcoming, past = bookings_for_dashboard(user=current_user)
    return render_page("specialist/dashboard.html", upcoming=upcoming, past=past)
