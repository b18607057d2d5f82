"""Recordings on the booking page: admins upload and delete; the booking's parties
and admins play them through signed links that expire and are bound to the viewer."""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, request, send_file, url_for
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.extensions import db
from portal.models import Booking, MeetingRecording
from portal.selectors.recordings import recordings_of_booking
from portal.services import ServiceError
from portal.services.recording_storage import get_storage
from portal.services.recordings import (
    recording_attach,
    recording_delete,
    recording_from_token,
    recording_link_token,
)
from portal.web.forms import submit_form
from portal.web.templating import viewer_zone

MIMETYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska"}


@bp.app_template_global("booking_recordings")
def booking_recordings(booking) -> list[MeetingRecording]:
    return recordings_of_booking(viewer=current_user, booking_id=booking.id)


@bp.app_template_global("recording_link")
def recording_link(recording, external: bool = False) -> str:
    token = recording_link_token(actor=current_user, recording=recording)
    return url_for("bookings.recording_stream", token=token, _external=external)


@bp.app_template_global("new_recording_for")
def new_recording_for(booking) -> MeetingRecording:
    return MeetingRecording(booking_id=booking.id)


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _local_expiry(value: str) -> datetime | None:
    """The form's datetime-local value, read in the viewer's time zone."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=viewer_zone())
    except ValueError as error:
        raise ServiceError("Enter the expiry as a date and time.", code="INVALID_REQUEST",
                           fields={"expires_at": "Not a date and time."}) from error


def _back(booking_id, message: str, category: str):
    flash(message, category)
    return redirect(url_for("bookings.detail", booking_id=booking_id) + "#booking-recordings")


@bp.route("/<uuid:booking_id>/recordings", methods=["POST"])
def recording_upload(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    policies.require("create", current_user, MeetingRecording(booking_id=booking.id))
    upload = request.files.get("file")

    def attach():
        if upload is None or not upload.filename:
            raise ServiceError("Choose a file to upload.", fields={"file": "Required."})
        return recording_attach(actor=current_user, booking_id=booking.id, filename=upload.filename,
                                stream=upload.stream, duration_seconds=request.form.get("duration_seconds"),
                                expires_at=_local_expiry(request.form.get("expires_at", "")))

    # The form sits on the booking page: both outcomes go back there with a message.
    return submit_form(attach, done=lambda _: _back(booking.id, "Recording attached.", "success"),
                       refused=lambda error: _back(booking.id, error.message, "error"))


@bp.route("/recordings/<uuid:recording_id>/delete", methods=["POST"])
def recording_remove(recording_id):
    recording = policies.load(MeetingRecording, recording_id, current_user)
    booking_id = recording.booking_id
    recording_delete(actor=current_user, recording_id=recording.id)
    db.session.commit()
    return _back(booking_id, "Recording deleted.", "success")


@bp.route("/recordings/play/<token>")
def recording_stream(token):
    """Stream the file with Range support (a video player seeks with 206 responses)."""
    recording = recording_from_token(actor=current_user, token=token)
    path = get_storage().local_path(recording.storage_path)
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=MIMETYPES[recording.file_format], conditional=True, etag=True,
                         max_age=0, download_name=f"session-recording.{recording.file_format}")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
