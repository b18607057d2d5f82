"""flask --app wsgi rq worker | rq scheduler (registered with the app's other commands).

    TZ=UTC REDIS_URL=redis://... flask --app wsgi rq worker
    TZ=UTC REDIS_URL=redis://... flask --app wsgi rq scheduler
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from rq import Queue
from sqlalchemy.orm import configure_mappers

from portal.extensions import db
from portal.jobs.queue import redis_connection
from portal.jobs.schedule import register_schedule
from portal.jobs.worker import PortalWorker

rq_cli = AppGroup("rq", help="Run the RQ worker and scheduler (they need REDIS_URL).")


def _connection():
    connection = redis_connection()
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run in-process and there is no worker or "
            "scheduler to start. Set REDIS_URL=redis://host:6379/0 to run them.")
    return connection


@rq_cli.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
@click.option("--queue", "queue_name", default=None, help="Queue name (default: RQ_QUEUE).")
def rq_worker(burst, queue_name):
    """Run jobs from the portal's queue (e-mail deliveries in this process, other jobs in a fork each)."""
    connection = _connection()
    queue = Queue(queue_name or current_app.config["RQ_QUEUE"], connection=connection)
    db.engine.dispose()  # each forked job opens its own database connections
    # Each job runs in a fork of this process and inherits what it has set up: configure the ORM's
    # mappers and compile the e-mail templates once here, not in every job (an outbox delivery took
    # about 100 ms in a cold fork, 30 ms in a warmed one).
    configure_mappers()
    for name in current_app.jinja_env.list_templates(filter_func=lambda name: name.startswith("mail/")):
        current_app.jinja_env.get_template(name)
    PortalWorker([queue], connection=connection).work(burst=burst)


@rq_cli.command("scheduler")
@click.option("--burst", is_flag=True, help="Enqueue what is due once, then quit.")
@click.option("--interval", default=60, show_default=True, help="Seconds between checks.")
def rq_scheduler(burst, interval):
    """Register the schedule (portal.jobs.schedule) and run the scheduler."""
    from rq_scheduler import Scheduler

    connection = _connection()
    queue_name = current_app.config["RQ_QUEUE"]
    scheduler = Scheduler(queue_name=queue_name, connection=connection, interval=interval)
    ids = register_schedule(scheduler, queue_name)
    click.echo(f"Registered {', '.join(ids)} on queue {queue_name} (cron times are UTC).")
    scheduler.run(burst=burst)
