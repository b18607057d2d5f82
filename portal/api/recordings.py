"""/api/v1/meeting-recordings: list, upload (admin, multipart) and signed links."""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask import redirect, request, url_for
from flask_login import current_user

from portal import clock
from portal.api.common import Blueprint, BoundedDateTime, PageArgs, Text, page_of, page_schema
from portal.bookings.recordings import GRANT_COOKIE, MIMETYPES, recording_stream_response
from portal.domain.inputs import MAX_SHORT_TEXT
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import MeetingRecording
from portal.models.recordings import RECORDING_FORMATS
from portal.selectors.recordings import recordings_page
from portal.services.recordings import recording_load
from portal.services.recordings.cleanup import recording_delete
from portal.services.recordings.links import (
    link_ttl,
    recording_from_grant,
    recording_from_token,
    recording_link_token,
    recording_stream_grant,
    stream_ttl,
)
from portal.services.recordings.upload import recording_attach, recording_register, recording_update
from portal.web.access import log_reads
from portal.web.transactions import writes_on_get

blp = Blueprint("api_recordings", __name__, url_prefix="/api/v1/meeting-recordings",
                description="Meeting recordings and their signed, expiring links")


class RecordingSchema(ma.Schema):
    id = ma.fields.UUID()
    booking_id = ma.fields.UUID()
    duration_seconds = ma.fields.Integer(allow_none=True)
    storage_size_bytes = ma.fields.Integer()
    file_format = ma.fields.String()
    is_encrypted = ma.fields.Boolean()
    created_at = BoundedDateTime()
    expires_at = BoundedDateTime(allow_none=True)


class RecordingListArgs(PageArgs):
    booking_id = ma.fields.UUID(load_default=None)


RecordingPageSchema = page_schema(RecordingSchema)


class UploadSchema(ma.Schema):
    """The multipart upload: its form fields and the file (read from request.files)."""

    booking_id = ma.fields.UUID(required=True)
    duration_seconds = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0))
    expires_at = BoundedDateTime(load_default=None)
    file = ma.fields.Raw(load_default=None, metadata={"type": "string", "format": "binary"})


class SignedUrlSchema(ma.Schema):
    url = ma.fields.String()
    expires_at = BoundedDateTime()


@blp.route("")
@blp.arguments(RecordingListArgs, location="query")
@blp.response(200, RecordingPageSchema)
def list_recordings(args):
    page = recordings_page(viewer=current_user, page=args["page"], per_page=args["per_page"],
                           booking_id=args["booking_id"])
    log_reads(page.items)
    return page_of(page)


class RegisterSchema(ma.Schema):
    """The spec's columns, for a file already stored elsewhere (no upload)."""

    booking_id = ma.fields.UUID(required=True)
    storage_path = Text(required=True, max_length=MAX_SHORT_TEXT, metadata={
        "description": "The file's key in the configured recordings storage"})
    file_format = ma.fields.String(required=True, validate=ma.validate.OneOf(RECORDING_FORMATS))
    storage_size_bytes = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0))
    duration_seconds = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                         validate=ma.validate.Range(min=0))
    expires_at = BoundedDateTime(load_default=None, allow_none=True)


def _load(schema: ma.Schema, data) -> dict:
    try:
        return schema.load(data)
    except ma.ValidationError as error:
        fields = {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in error.normalized_messages().items()}
        raise ServiceError("Some fields are invalid.", fields=fields) from error


def _register() -> MeetingRecording:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object with the recording's columns.")
    data = _load(RegisterSchema(), body)
    return recording_register(actor=current_user, **data)


def _upload() -> MeetingRecording:
    form = _load(UploadSchema(), request.form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ServiceError("Attach the video as the multipart field 'file'.", fields={"file": "Required."})
    return recording_attach(actor=current_user, booking_id=form["booking_id"], filename=upload.filename,
                            stream=upload.stream, duration_seconds=form["duration_seconds"],
                            expires_at=form["expires_at"])


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {
    "multipart/form-data": {"schema": UploadSchema},
    "application/json": {"schema": RegisterSchema}}})
@blp.response(201, RecordingSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")  # CONFLICT: that storage_path is already registered
def upload_recording():
    """Admins: a multipart upload (`file` plus `booking_id`, optional `duration_seconds` and
    `expires_at`), or, as JSON, a recording already stored elsewhere with the spec's columns
    (`booking_id`, `storage_path`, `file_format`, `duration_seconds`, `storage_size_bytes`,
    `expires_at`)."""
    recording = _register() if request.is_json else _upload()
    db.session.commit()
    return recording


@blp.route("/<uuid:recording_id>")
@blp.response(200, RecordingSchema)
def get_recording(recording_id):
    recording = recording_load(actor=current_user, recording_id=recording_id)
    log_reads([recording])
    return recording


class RecordingPatchSchema(ma.Schema):
    duration_seconds = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0))
    expires_at = BoundedDateTime(allow_none=True)


@blp.route("/<uuid:recording_id>", methods=["PATCH"])
@blp.arguments(RecordingPatchSchema)
@blp.response(200, RecordingSchema)
def patch_recording(changes, recording_id):
    """Admins change the duration or the expiry (null keeps the recording indefinitely)."""
    recording = recording_update(actor=current_user, recording_id=recording_id, changes=changes)
    db.session.commit()
    return recording


@blp.route("/<uuid:recording_id>", methods=["DELETE"])
@blp.response(204)
def delete_recording(recording_id):
    recording_delete(actor=current_user, recording_id=recording_id)
    db.session.commit()
    return ""


@blp.route("/<uuid:recording_id>/signed-url")
@writes_on_get  # the link's one-time code is written
@blp.response(200, SignedUrlSchema)
def signed_url(recording_id):
    """A one-time link for the caller only. Opened with the caller's token or session before it
    expires, it sets a cookie with which the same caller streams and seeks the recording at
    `/api/v1/meeting-recordings/<id>/stream` (where it redirects); opening it again is refused.
    Audited."""
    recording = recording_load(actor=current_user, recording_id=recording_id)
    expires_at = clock.now() + timedelta(seconds=link_ttl())
    code = recording_link_token(actor=current_user, recording=recording)
    db.session.commit()
    return {"url": url_for("api_recordings.open_signed_url", code=code, _external=True), "expires_at": expires_at}


BINARY = {"type": "string", "format": "binary"}
VIDEO_CONTENT = {mimetype: {"schema": BINARY} for mimetype in sorted(set(MIMETYPES.values()))}


@blp.route("/open/<string:code>")
@writes_on_get  # the link's one-time code is spent
@blp.response(302, description="On to the recording's stream, with a stream cookie for the caller.",
              headers={"Location": {"schema": {"type": "string"}}, "Set-Cookie": {"schema": {"type": "string"}}})
@blp.alt_response(403, response="DEFAULT_ERROR")  # LINK_EXPIRED: opened before, or too late
def open_signed_url(code):
    """Spend a signed link's one-time code (the caller must be the one it was issued to): an
    HttpOnly cookie scoped to the recording's API stream, valid RECORDING_STREAM_TTL seconds,
    and a redirect there. The stream's address carries no secret."""
    recording = recording_from_token(actor=current_user, token=code)
    db.session.commit()
    grant = recording_stream_grant(actor=current_user, recording=recording)
    stream = url_for("api_recordings.stream_recording", recording_id=recording.id)
    response = redirect(stream)
    response.set_cookie(GRANT_COOKIE, grant, max_age=stream_ttl(), httponly=True, samesite="Strict",
                        secure=request.is_secure, path=stream)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/<uuid:recording_id>/stream")
@blp.doc(responses={"200": {"description": "The whole recording.", "content": VIDEO_CONTENT},
                    "206": {"description": "The requested byte range (`Range: bytes=...`).",
                            "content": VIDEO_CONTENT},
                    "416": {"description": "The range lies outside the recording."}})
@blp.alt_response(403, response="DEFAULT_ERROR")  # LINK_EXPIRED: no stream cookie, or an old one
def stream_recording(recording_id):
    """The recording's bytes, with Range support, for the caller the stream cookie (from a signed
    link) names: the cookie opens nothing without the caller's own token or session."""
    recording = recording_from_grant(actor=current_user, recording_id=recording_id,
                                     grant=request.cookies.get(GRANT_COOKIE))
    return recording_stream_response(recording)
