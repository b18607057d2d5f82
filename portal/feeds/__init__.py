"""The calendar feed: its section of the settings page (/calendar-feed redirects there), revoking the
link, and the feed itself (reached by calendar apps without a session, so authorised by its token)."""
from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_login import current_user, login_required

from portal.extensions import db
from portal.models.row_security import acting_as
from portal.services.calendar_feed import feed_ics, feed_revoke, feed_user
from portal.web.blueprints import PUBLIC, SIGNED_IN

bp = Blueprint("feeds", __name__)


@bp.route("/calendar-feed")
@login_required
def settings():
    """The feed is a section of the settings page."""
    return redirect(url_for("account.settings", _anchor="calendar-feed"))


@bp.route("/calendar-feed/revoke", methods=["POST"])
@login_required
def revoke():
    feed_revoke(actor=current_user)
    db.session.commit()
    flash("Your old feed link no longer works. Subscribe again with the new one.", "success")
    return redirect(url_for("account.settings", _anchor="calendar-feed"))


@bp.route("/calendar/<token>.ics")
def feed(token):
    user = feed_user(token)
    if user is None:
        abort(404)
    with acting_as(user):  # the token is the user's own key: the database lets it read what they may
        response = Response(feed_ics(user), mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# Read by the role-by-endpoint test: the feed is reached with its token alone.
settings.allowed_roles = revoke.allowed_roles = SIGNED_IN
feed.allowed_roles = PUBLIC
