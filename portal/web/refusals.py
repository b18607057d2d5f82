"""Refused actions are audited too (status "failure"), wherever they are refused.

Services raise ServiceError for a refusal; whatever handles it in a request (the
error handler, the functions, a view that shows it as a form error) calls
note_refusal, and at the end of a state-changing request the first refusal is
written to the audit trail in its own transaction, after the request's work was
rolled back. Raising has no side effect: an error nobody handles as a refusal
(one a service catches and retries, say) is not recorded.
Services that audit their refusals themselves (audit_failure) are not recorded twice.
Only the code and the names of the fields go into the row, never the input."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from portal.services.audit import audit_failure

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def note_refusal(error) -> None:
    """Remember a refusal handled while serving this request (once per error object),
    for the audit at the request's end."""
    if not has_request_context():
        return
    refusals = g.setdefault("refusals", [])
    if not any(noted is error for noted in refusals):
        refusals.append(error)


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

