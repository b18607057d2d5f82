"""The specialist's clients: everyone they have seen or will see, and each one's record with them."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from portal.selectors.clients import client_bookings, client_enrolments, client_notes, clients_page
from portal.selectors.users import patient_get
from portal.specialist.blueprint import bp
from portal.web.rendering import render_page

PER_PAGE = 25


@bp.route("/clients")
def clients():
    query = request.args.get("q", "")[:120]
    results, rows = clients_page(viewer=current_user, query=query, page=request.args.get("page"), per_page=PER_PAGE)
    return render_page("specialist/clients.html", "client_results", rows=rows, results=results, q=query,
                       total=results.total)


@bp.route("/clients/<uuid:patient_id>")
def client(patient_id):
    bookings = client_bookings(viewer=current_user, patient_id=patient_id)
    patient = patient_get(patient_id=patient_id) if bookings else None
    if patient is None:
        abort(404)
    return render_page("specialist/client.html", patient=patient, bookings=bookings,
                       notes=client_notes(viewer=current_user, patient_id=patient_id),
                       enrolments=client_enrolments(viewer=current_user, patient_id=patient_id))
