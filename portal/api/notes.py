"""/api/v1/session-notes: notes and their amendments."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from portal.api.common import Blueprint, BoundedDateTime, PageArgs, Text, page_of, page_schema
from portal.extensions import db
from portal.policies import can_read_private_notes
from portal.selectors.notes import notes_visible
from portal.services.notes import (
    amendment_add,
    note_create,
    note_delete,
    note_is_locked,
    note_load,
    note_locks_at,
    note_update,
)
from portal.web.access import log_reads

blp = Blueprint("api_notes", __name__, url_prefix="/api/v1/session-notes",
                description="Session notes (health data) and their amendments")


class AmendmentSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    note_id = ma.fields.UUID(dump_only=True)
    author_id = ma.fields.UUID(dump_only=True)
    text = ma.fields.String(required=True)
    created_at = BoundedDateTime(dump_only=True)


class NoteSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    booking_id = ma.fields.UUID(dump_only=True)
    provider_id = ma.fields.UUID(dump_only=True)
    notes = ma.fields.String()
    follow_up_actions = ma.fields.String()
    next_session_recommendation = ma.fields.String()
    private_notes = ma.fields.String(metadata={
        "description": "The author's own field: listed for the author and admins, absent for the patient"})
    metadata = ma.fields.Dict(attribute="metadata_")
    created_at = BoundedDateTime(dump_only=True)
    updated_at = BoundedDateTime(dump_only=True)
    locked = ma.fields.Method("_locked", dump_only=True)
    locks_at = ma.fields.Method("_locks_at", dump_only=True)
    amendments = ma.fields.List(ma.fields.Nested(AmendmentSchema), dump_only=True)

    @ma.post_dump(pass_original=True)
    def _hide_private(self, data: dict, note, **kwargs) -> dict:
        if not can_read_private_notes(current_user, note):
            data.pop("private_notes", None)
        return data

    def _locked(self, note) -> bool:
        return note_is_locked(note)

    def _locks_at(self, note) -> str:
        return note_locks_at(note).isoformat()


class NoteInSchema(ma.Schema):
    """Values are checked by the service, so pages and API give the same messages.
    `metadata` is replaced whole on PATCH (send every key you want to keep)."""

    notes = ma.fields.Raw()
    follow_up_actions = ma.fields.Raw()
    next_session_recommendation = ma.fields.Raw()
    private_notes = ma.fields.Raw()
    metadata = ma.fields.Raw()


class NoteCreateSchema(NoteInSchema):
    booking_id = ma.fields.UUID(required=True)
    provider_id = ma.fields.UUID(load_default=None, metadata={
        "description": "The spec's column: the booking's specialist (the caller); optional"})


class NoteListArgs(PageArgs):
    booking_id = ma.fields.UUID(load_default=None)
    provider_id = ma.fields.UUID(load_default=None)
    q = Text(load_default="", max_length=200)


NotePageSchema = page_schema(NoteSchema)


@blp.route("")
@blp.arguments(NoteListArgs, location="query")
@blp.response(200, NotePageSchema)
def list_notes(args):
    """The notes the caller may read; each one listed is logged as read (the patient's own excepted)."""
    page = notes_visible(user=current_user, booking_id=args["booking_id"], provider_id=args["provider_id"],
                         query=args["q"], page=args["page"], per_page=args["per_page"])
    log_reads(page.items)
    return page_of(page)


@blp.route("", methods=["POST"])
@blp.arguments(NoteCreateSchema)
@blp.response(201, NoteSchema)
def create_note(data):
    booking_id, provider_id = data.pop("booking_id"), data.pop("provider_id")
    note = note_create(actor=current_user, booking_id=booking_id, data=data, provider_id=provider_id)
    db.session.commit()
    return note


@blp.route("/<uuid:note_id>")
@blp.response(200, NoteSchema)
def get_note(note_id):
    note = note_load(actor=current_user, note_id=note_id)
    log_reads([note])
    return note


@blp.route("/<uuid:note_id>", methods=["PATCH"])
@blp.arguments(NoteInSchema)
@blp.response(200, NoteSchema)
def patch_note(data, note_id):
    note = note_update(actor=current_user, note_id=note_id, data=data)
    db.session.commit()
    return note


@blp.route("/<uuid:note_id>", methods=["DELETE"])
@blp.response(204)
def delete_note(note_id):
    note_delete(actor=current_user, note_id=note_id)
    db.session.commit()
    return ""


@blp.route("/<uuid:note_id>/amendments")
@blp.response(200, AmendmentSchema(many=True))
def list_amendments(note_id):
    note = note_load(actor=current_user, note_id=note_id)
    log_reads([note])
    return note.amendments


@blp.route("/<uuid:note_id>/amendments", methods=["POST"])
@blp.arguments(AmendmentSchema)
@blp.response(201, AmendmentSchema)
def create_amendment(data, note_id):
    amendment = amendment_add(actor=current_user, note_id=note_id, text=data["text"])
    db.session.commit()
    return amendment
