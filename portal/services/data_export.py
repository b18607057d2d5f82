"""Download my data: the person's export, audited (the document's contents never are)."""
from __future__ import annotations

from portal import clock
from portal.errors import Forbidden
from portal.models import Role, User
from portal.selectors.export import export_document
from portal.services.audit import audit_record


def data_export(*, actor: User) -> dict:
    """The signed-in patient's own data as one JSON document. Flushes its audit row; the caller commits."""
    if actor.role != Role.PATIENT:
        raise Forbidden("The data download is for patients' own records.")
    document = export_document(patient=actor, generated_at=clock.now())
    audit_record(actor=actor, action="data_exported", entity_type="user", entity_id=actor.id,
                 new_values={"sections": [key for key in document if isinstance(document[key], list | dict)]})
    return document
