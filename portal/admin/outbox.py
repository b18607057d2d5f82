"""The mailbox (/admin/outbox): every message the portal owes or sent, with its status and tries,
rendered as its recipient sees it unless it is about the recipient's account (policies decide);
ops and admins retry a failed one."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.admin.blueprint import bp
from portal.models import OUTBOX_STATUSES
from portal.selectors.outbox import outbox_counts, outbox_message, outbox_page
from portal.services.mail_delivery import outbox_retry
from portal.web.forms import submit_form
from portal.web.rendering import render_page

PER_PAGE = 25


@bp.route("/outbox")
def outbox():
    status = request.args.get("status") or None
    if status is not None and status not in OUTBOX_STATUSES:
        status = None
    results = outbox_page(user=current_user, page=request.args.get("page"), per_page=PER_PAGE, status=status)
    return render_page("admin/outbox.html", "outbox_results", results=results, rows=results.items,
                       status=status, statuses=OUTBOX_STATUSES, counts=outbox_counts(user=current_user))


@bp.route("/outbox/<uuid:outbox_id>")
def outbox_detail(outbox_id):
    message = outbox_message(user=current_user, outbox_id=outbox_id)
    if message is None:
        abort(404)
    return render_page("admin/outbox_message.html", message=message,
                       shows_body=policies.can_read_mail_body(current_user, message))


@bp.route("/outbox/<uuid:outbox_id>/body.html")
def outbox_body(outbox_id):
    """The HTML part alone, for the sandboxed frame of the message page: its own strict policy
    (no scripts, no requests; the inline styles mail needs)."""
    message = outbox_message(user=current_user, outbox_id=outbox_id)
    if message is None or message.body_html is None or not policies.can_read_mail_body(current_user, message):
        abort(404)
    response = make_response(message.body_html)
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                                   "frame-ancestors 'self'; sandbox")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/outbox/<uuid:outbox_id>/retry", methods=["POST"])
def outbox_retry_view(outbox_id):
    def done(_message):
        flash("The message will be tried again within a minute.", "success")
        return redirect(_back(outbox_id))

    def refused(error):
        flash(error.message, "error")
        return redirect(_back(outbox_id))

    return submit_form(lambda: outbox_retry(actor=current_user, outbox_id=outbox_id), done=done, refused=refused)


def _back(outbox_id) -> str:
    """Back to the ops page when the retry came from there, else to the message."""
    if request.form.get("back") == "ops":
        return url_for("admin.ops_dashboard") + "#failed-mail"
    return url_for("admin.outbox_detail", outbox_id=outbox_id)
