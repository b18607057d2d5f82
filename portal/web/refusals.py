"""Refused actions are audited too (status "failure"), wherever they are refused.

Services raise ServiceError for a refusal; the error notes itself on `g`, and
at the end of a state-changing request the first refusal is written to the
audit trail in its own transaction, after the request's work was rolled back.
Services that audit their refusals themselves (audit_failure) are not recorded twice.
Only the code and the names of the fields go into the row, never the input."""
from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user

from portal.services.audit import audit_failure

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def configure_refusal_audit(app: Flask) -> None:
    @app.after_request
    def audit_refusal(response):
        refusals = g.pop("refusals", None)
        if not refusals or request.method in SAFE_METHODS or g.get("refusal_audited"):
            return response
        error = refusals[0]
        endpoint = (request.endpoint or "unknown").replace(".", "_")
        view_args = request.view_args or {}
        audit_failure(
            actor=current_user if current_user.is_authenticated else None,
            action=f"refused_{endpoint}"[:64],
            entity_type=(request.blueprint or "request")[:64],
            entity_id=next(iter(view_args.values()), None),
            error=error.code,
            details={"fields": sorted(error.fields), "status": error.http_status},
        )
        return response


def note_refusal(error) -> None:
    """Remember a refusal the request handled (a form shown again), so that the request's
    end audits it. Noting the same error twice still writes one row."""
    refusals = g.setdefault("refusals", [])
    if not any(noted is error for noted in refusals):
        refusals.append(error)
