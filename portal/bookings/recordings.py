"""Recordings on the booking page: admins upload and delete; the booking's parties
and admins play them through signed links that expire and are bound to the viewer."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user

from portal import policies
from portal.bookings.blueprint import bp
from portal.bookings.forms import RecordingUploadForm
from portal.errors import FORBIDDEN_MESSAGE, Forbidden, ServiceError
from portal.extensions import db
from portal.models import Booking, MeetingRecording
from portal.selectors.recordings import recordings_of_booking
from portal.services.recordings.cleanup import recording_delete
from portal.services.recordings.crypto import TamperedRecording
from portal.services.recordings.links import (
    recording_expired,
    recording_from_grant,
    recording_from_token,
    recording_reader,
    recording_stream_grant,
    recording_stream_started,
    recording_watch,
    report_tampered,
    stream_ttl,
)
from portal.services.recordings.upload import recording_attach
from portal.web.errors import error_page, json_error, wants_json
from portal.web.forms import checks_own_text, submit_form
from portal.web.templating import viewer_zone
from portal.web.transactions import write_transaction, writes_on_get

log = logging.getLogger(__name__)
GRANT_COOKIE = "recording_grant"
MIMETYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska"}


@bp.app_template_global("booking_recordings")
def booking_recordings(booking) -> list[MeetingRecording]:
    return recordings_of_booking(viewer=current_user, booking_id=booking.id)


@bp.app_template_global("recording_link")
def recording_link(recording, external: bool = False) -> str:
    """The booking page's player source: opening it is audited as a link and gives a stream cookie."""
    return url_for("bookings.recording_watch", recording_id=recording.id, _external=external)


bp.add_app_template_global(recording_expired, "recording_expired")


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
@checks_own_text
def recording_upload(booking_id):
    booking = policies.load(Booking, booking_id, current_user)
    if not policies.can("create", current_user, MeetingRecording(booking_id=booking.id)):
        raise Forbidden(FORBIDDEN_MESSAGE)
    upload = request.files.get("file")
    form = RecordingUploadForm()
    if not form.validate():
        field, message = next(iter(form.error_messages().items()))
        return _back(booking.id, f"{form[field].label.text}: {message}", "error")

    def attach():
        if upload is None or not upload.filename:
            raise ServiceError("Choose a file to upload.", fields={"file": "Required."})
        return recording_attach(actor=current_user, booking_id=booking.id, filename=upload.filename,
                                stream=upload.stream, duration_seconds=form.duration_seconds.data or None,
                                expires_at=_local_expiry(form.expires_at.data or ""))

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


def _with_grant(response, recording, grant: str):
    """The stream cookie: HttpOnly, SameSite=Strict, scoped to this recording's stream path."""
    response.set_cookie(GRANT_COOKIE, grant, max_age=stream_ttl(), httponly=True, samesite="Strict",
                        secure=request.is_secure,
                        path=url_for("bookings.recording_stream", recording_id=recording.id))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/recordings/<uuid:recording_id>/watch", endpoint="recording_watch")
@writes_on_get  # watching is audited
def recording_watch_page(recording_id):
    """The booking page's player: audited, then the stream cookie and on to the stream."""
    recording, grant = recording_watch(actor=current_user, recording_id=recording_id)
    db.session.commit()
    return _with_grant(redirect(url_for("bookings.recording_stream", recording_id=recording.id)), recording, grant)


@bp.route("/recordings/open/<code>")
@writes_on_get  # the link's one-time code is spent
def recording_open(code):
    """A signed link: its one-time code is spent for a stream cookie, so the address the
    access log keeps opens nothing a second time."""
    recording = recording_from_token(actor=current_user, token=code)
    db.session.commit()
    grant = recording_stream_grant(actor=current_user, recording=recording)
    return _with_grant(redirect(url_for("bookings.recording_stream", recording_id=recording.id)), recording, grant)


UNREADABLE = {
    FileNotFoundError: (404, "This recording's file is missing from storage. The staff have been told."),
    IsADirectoryError: (404, "This recording's storage path names a folder, not a file. The staff have been told."),
}
CANNOT_READ_NOW = (503, "This recording's storage cannot be reached. Please retry in a few minutes.")


def _unplayable(recording, error: Exception):
    """A clean error page for a file that cannot be read; "damaged" only for a failed tag."""
    if isinstance(error, TamperedRecording):
        report_tampered(recording.id, error.chunk)
        status, message = 500, "This recording cannot be played: its stored file is damaged. The staff have been told."
    else:
        log.error("recording %s: its file cannot be read (%s)", recording.id, type(error).__name__)
        status, message = UNREADABLE.get(type(error), CANNOT_READ_NOW)
    return json_error(status, message=message) if wants_json() else error_page(status, message)


def _requested_span(size: int):
    """(start, end, status) for the Range header, or None when it cannot be satisfied. Several
    ranges are answered with the whole file (RFC 9110 lets a server ignore a Range header)."""
    if request.range is None or len(request.range.ranges) != 1:
        return 0, size - 1, 200
    span = request.range.range_for_length(size)
    return None if span is None else (span[0], span[1] - 1, 206)


@bp.route("/recordings/<uuid:recording_id>/stream")
def recording_stream(recording_id):
    """The browser's stream: the grant is the cookie the watch page or a signed link set."""
    recording = recording_from_grant(actor=current_user, recording_id=recording_id,
                                     grant=request.cookies.get(GRANT_COOKIE))
    return recording_stream_response(recording)


def recording_stream_response(recording: MeetingRecording) -> Response:
    """Stream the (decrypted) recording with Range support; only the chunks covering the
    range are read. A chunk that fails authentication ends the response, reported. The caller
    has checked the grant; the API's stream (portal.api.recordings) answers through this too."""
    try:
        reader = recording_reader(recording)
    except (TamperedRecording, OSError) as error:
        return _unplayable(recording, error)
    size = reader.plain_size
    span = _requested_span(size)
    if span is None:
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end, status = span
    try:
        pieces = reader.iter_range(start, end)
        first = next(pieces, b"")  # the first chunk is checked before any header is sent
    except (TamperedRecording, OSError) as error:
        return _unplayable(recording, error)
    if start == 0:
        with write_transaction():  # the stream start is audited; the request only reads otherwise
            recording_stream_started(actor=current_user, recording=recording, start=start)

    def body():
        yield first
        try:
            yield from pieces
        except TamperedRecording as error:
            report_tampered(recording.id, error.chunk)  # the response ends short: the player sees an error
        except OSError as error:
            log.error("recording %s: reading its file failed mid-stream (%s)", recording.id, type(error).__name__)

    response = Response(body(), status=status, mimetype=MIMETYPES[recording.file_format],
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(end - start + 1)
    response.headers["Accept-Ranges"] = "bytes"
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.headers["Content-Disposition"] = f'inline; filename="session-recording.{recording.file_format}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
