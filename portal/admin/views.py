from portal.admin.blueprint import bp
from portal.admin.charts import stacked_bars
from portal.models import Role
from portal.selectors.admin import admin_overview_counts
from portal.selectors.overview import admin_trends
from portal.web.blueprints import roles_required
from portal.web.rendering import render_page


@bp.route("/")
@roles_required(Role.ADMIN)
def dashboard():
    trends = admin_trends(weeks=26)
    charts = {name: stacked_bars(trends["weeks"], trends[name])
              for name in ("bookings", "cancellations", "dispatcher")}
    return render_page("admin/dashboard.html", counts=admin_overview_counts(), trends=trends, charts=charts)
