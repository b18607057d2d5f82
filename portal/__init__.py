"""The clinic portal: create_app() builds the Flask app from small configure steps."""
from __future__ import annotations

import logging

from flask import Flask

from portal.config import (
    Config,
    default_instance_path,
    ensure_instance_folder,
    ensure_recordings_key,
    ensure_secret_key,
    validate,
)


def create_app(config: dict | None = None, *, instance_path: str | None = None) -> Flask:
    """The app; `config` overrides the environment's settings. The instance folder is
    `instance_path`, else PORTAL_INSTANCE_DIR, else ./instance. A bad setting raises ConfigError."""
    app = Flask(__name__, instance_path=instance_path or default_instance_path())
    app.config.from_mapping(Config(app.instance_path).as_dict())
    if config:
        app.config.from_mapping(config)
    validate(app.config)
    ensure_secret_key(app.config, app.instance_path)
    ensure_recordings_key(app.config, app.instance_path)
    ensure_instance_folder(app.config, app.instance_path)
    configure_proxy(app)
    configure_logging(app)
    configure_limits(app)
    configure_sentry(app)
    configure_extensions(app)
    configure_blueprints(app)
    configure_errors(app)
    configure_refusal_audit(app)
    configure_templates(app)
    configure_cli(app)
    configure_jobs(app)
    return app


def configure_jobs(app: Flask) -> None:
    """Outbox rows are enqueued for delivery when committed (with Redis); without Redis and with
    EMBEDDED_SCHEDULER (`make run`), a thread of this process runs the schedule itself."""
    from portal.jobs.delivery import configure_delivery_enqueue
    from portal.jobs.embedded import start_embedded_scheduler

    configure_delivery_enqueue()
    if app.config.get("EMBEDDED_SCHEDULER") and not app.config.get("REDIS_URL"):
        start_embedded_scheduler(app)


def configure_proxy(app: Flask) -> None:
    """Behind a reverse proxy, take the client's address from X-Forwarded-For:
    the per-address login limit would otherwise count every client as one."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def configure_logging(app: Flask) -> None:
    from portal.web.monitoring import install_database_error_filter

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    install_database_error_filter()


def configure_limits(app: Flask) -> None:
    """Request size limits and the input bounds every request meets (portal.web.limits)."""
    from portal.web.limits import configure_limits as install_limits

    install_limits(app)


def configure_sentry(app: Flask) -> None:
    from portal.web.monitoring import init_sentry

    init_sentry(app)


def configure_extensions(app: Flask) -> None:
    from portal.auth.loading import configure_login
    from portal.extensions import csrf, db, htmx, limiter, migrate
    from portal.models.pool import ping_when_idle
    from portal.models.row_security import configure_row_security
    from portal.web.monitoring import tag_sentry_user
    from portal.web.rate_limits import configure_rate_limits
    from portal.web.security import configure_security_headers
    from portal.web.uploads import PortalRequest

    app.request_class = PortalRequest  # uploads are spooled encrypted, never in plain text
    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, app.config["DATABASE_PING_AFTER_IDLE"])
    from portal.web.transactions import configure_write_intent, may_write

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from portal.models.sqlite import configure_sqlite

        configure_sqlite(app, may_write=may_write)
    configure_write_intent(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    configure_login(app)
    configure_row_security(app)
    tag_sentry_user(app)
    configure_rate_limits(app)
    configure_security_headers(app)


def configure_blueprints(app: Flask) -> None:
    from portal.account import bp as account_bp
    from portal.admin.blueprint import bp as admin_bp
    from portal.api import configure_api
    from portal.auth.blueprint import bp as auth_bp
    from portal.bookings.blueprint import bp as bookings_bp
    from portal.directory import bp as directory_bp
    from portal.feeds import bp as feeds_bp
    from portal.intake import bp as intake_bp
    from portal.intake import editor_bp as questionnaire_bp
    from portal.intake import terms_bp
    from portal.mail import bp as mail_bp
    from portal.patient.blueprint import bp as patient_bp
    from portal.recurring.blueprint import bp as recurring_bp
    from portal.specialist.blueprint import bp as specialist_bp

    for bp in (auth_bp, account_bp, bookings_bp, directory_bp, patient_bp, specialist_bp, admin_bp, feeds_bp,
               recurring_bp, mail_bp, intake_bp, questionnaire_bp,
               terms_bp):
        app.register_blueprint(bp)
    configure_api(app)

    from portal.admin.queue_dashboard import configure_queue_dashboard
    from portal.web.health import configure_health

    configure_health(app)
    configure_queue_dashboard(app)


def configure_errors(app: Flask) -> None:
    """After the API: flask-smorest registers its own HTTPException handler at
    init, and ours (error pages in the layout, our JSON shape) must replace it."""
    from portal.web.errors import configure_errors as register_error_handlers

    register_error_handlers(app)


def configure_refusal_audit(app: Flask) -> None:
    from portal.web.refusals import configure_refusal_audit as register_refusal_audit

    register_refusal_audit(app)


def configure_templates(app: Flask) -> None:
    from portal.web.templating import configure_jinja

    configure_jinja(app)


def configure_cli(app: Flask) -> None:
    from portal.cli import register_cli

    register_cli(app)
