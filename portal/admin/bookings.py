"""Every booking (admins): filters by person, status, dates and series; the usual pager; CSV export of
exactly what is filtered."""
from __future__ import annotations

import csv
import io

from flask import Response, request, stream_with_context
from flask_login import current_user
from wtforms import DateField, Form, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from portal import clock
from portal.admin.blueprint import bp
from portal.models import BOOKING_STATUSES, Role
from portal.selectors.booking_search import BookingFilters, bookings_search_page, bookings_search_walk
from portal.web.blueprints import roles_required
from portal.web.rendering import render_page
from portal.web.templating import viewer_zone
from portal.web.validators import DateInWindow

PER_PAGE = 50
STATUS_WORDS = {"no_show": "No-show"}
CSV_COLUMNS = ("booking_id", "starts_at", "ends_at", "status", "patient", "patient_email", "specialist",
               "specialist_email", "price", "currency", "from_package", "recurring_booking_id")


class BookingFilterForm(Form):
    patient = StringField("Patient", validators=[Optional(), Length(max=120)], description="Name or e-mail")
    specialist = StringField("Specialist", validators=[Optional(), Length(max=120)], description="Name or e-mail")
    status = SelectField("Status", choices=[SelectChoice("", "Any status")] + [
        SelectChoice(s, STATUS_WORDS.get(s, s.capitalize())) for s in BOOKING_STATUSES], validators=[Optional()])
    date_from = DateField("Starts from", validators=[Optional(), DateInWindow()])
    date_to = DateField("Starts to", validators=[Optional(), DateInWindow()])
    series = SelectField("Series", choices=[
        SelectChoice("", "Series or not"), SelectChoice("series", "Part of a series"),
        SelectChoice("single", "One-off")], validators=[Optional()])


def _filters(form: BookingFilterForm) -> BookingFilters:
    def ok(field):
        return field.data if field.data and not field.errors else None

    return BookingFilters(patient=ok(form.patient) or "", specialist=ok(form.specialist) or "",
                          status=ok(form.status), date_from=ok(form.date_from), date_to=ok(form.date_to),
                          series=ok(form.series), zone=viewer_zone().key)


def _form() -> BookingFilterForm:
    form = BookingFilterForm(request.args)
    form.validate()
    return form


@bp.route("/bookings")
@roles_required(Role.ADMIN)
def bookings():
    form = _form()
    results = bookings_search_page(viewer=current_user, filters=_filters(form), page=request.args.get("page"),
                                   per_page=PER_PAGE)
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_page("admin/bookings.html", "booking_results", form=form, rows=results.items, results=results,
                       total=results.total, csv_query=query)


def _cell(value) -> str:
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A spreadsheet runs cells that start like a formula: keep them text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(filters: BookingFilters):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, b in enumerate(bookings_search_walk(viewer=current_user, filters=filters), start=1):
        writer.writerow([_cell(v) for v in (
            b.id, b.starts_at, b.ends_at, b.status, b.patient.display_name, b.patient.email,
            b.specialist_user.display_name, b.specialist_user.email, b.price, b.currency,
            "yes" if b.package_enrolment_id else "no", b.recurring_booking_id)])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.route("/bookings.csv")
@roles_required(Role.ADMIN)
def bookings_csv():
    filters = _filters(_form())
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(_csv_lines(filters)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bookings-{stamp}.csv"',
                             "Cache-Control": "no-store"})
