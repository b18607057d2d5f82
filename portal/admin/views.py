from portal.admin import bp
from portal.policies import roles_required
from portal.rendering import render_page
from portal.selectors.admin import admin_overview_counts


@bp.route("/")
@roles_required("admin")
def dashboard():
    return render_page("admin/dashboard.html", counts=admin_overview_counts())
