"""rq-dashboard mounted under /admin/queues, for ops and admins only.

It is mounted only when REDIS_URL is set: without Redis the portal runs jobs
in-process and there is no queue to look at (a dashboard pointed at a Redis
that does not exist would only show connection errors); the ops page says so."""
from __future__ import annotations

from flask import Flask, abort, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from portal.extensions import login_manager
from portal.policies import STAFF_ROLES, is_ops

QUEUES_PREFIX = "/admin/queues"
DASHBOARD = "rq_dashboard"
# Its "requeue all" route also answers GET: a link on another site must not trigger it.
DASHBOARD_GET_WRITES = {"rq_dashboard.requeue_all"}


def configure_queue_dashboard(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        mount_queue_dashboard(app)


def mount_queue_dashboard(app: Flask) -> None:
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    rq_dashboard.blueprint.allowed_roles = STAFF_ROLES
    rq_dashboard.blueprint.deny_status = 404
    app.config["RQ_DASHBOARD_REDIS_URL"] = app.config["REDIS_URL"]
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=QUEUES_PREFIX)
    setup_rq_connection(app)
    app.before_request(guard_queue_dashboard)
    app.after_request(set_dashboard_csrf_cookie)


def guard_queue_dashboard():
    """App-level, so it runs before the dashboard's own hooks: staff only, others never learn it exists."""
    if request.blueprint != DASHBOARD:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not is_ops(current_user):
        abort(404)
    if request.method == "GET" and request.endpoint in DASHBOARD_GET_WRITES:
        abort(405)
    return None


def set_dashboard_csrf_cookie(response):
    """The dashboard's script sends the `_csrf_token` cookie back as X-CSRFToken on its POSTs,
    which CSRFProtect then checks like any form's token."""
    if request.blueprint == DASHBOARD and current_user.is_authenticated and is_ops(current_user):
        response.set_cookie("_csrf_token", generate_csrf(), path=QUEUES_PREFIX, samesite="Strict",
                            secure=bool(request.is_secure), httponly=False)
    return response
