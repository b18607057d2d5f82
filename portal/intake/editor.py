"""/specialist/questionnaire: the specialist keeps their intake questionnaire. One row per
question, in order; a row without a question is dropped, and three blank rows add more."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.domain.meetings import CHOICE_KINDS, QUESTION_KINDS
from portal.intake.blueprint import editor_bp
from portal.intake.forms import QuestionnaireForm
from portal.selectors.intake import intake_form_of
from portal.services.intake import intake_form_set
from portal.web.forms import submit_form
from portal.web.rendering import render_page

BLANK_ROWS = 3
KIND_LABELS = {"short_text": "Short answer", "long_text": "Long answer", "single_choice": "One choice",
               "multiple_choice": "Several choices", "yes_no": "Yes or no", "date": "Date"}


def _rows(questions: list[dict]) -> list[dict]:
    return [*questions, *({"id": "", "kind": "short_text", "label": "", "required": False}
                          for _ in range(BLANK_ROWS))]


def _page(rows, *, error=None, fields=None, status=200):
    return render_page("intake/editor.html", None, status, rows=rows, error=error, fields=fields or {},
                       kinds=[(k, KIND_LABELS[k]) for k in QUESTION_KINDS], choice_kinds=CHOICE_KINDS,
                       form=QuestionnaireForm())


@editor_bp.route("")
def edit():
    form = intake_form_of(current_user.id)
    return _page(_rows(form.questions if form else []))


def _posted() -> list[dict]:
    questions, index = [], 0
    while f"label-{index}" in request.form:
        label = request.form.get(f"label-{index}", "").strip()
        if label:
            kind = request.form.get(f"kind-{index}", "")
            options = [o.strip() for o in request.form.get(f"options-{index}", "").split(",") if o.strip()]
            questions.append({"id": request.form.get(f"id-{index}") or None, "kind": kind, "label": label,
                              "required": request.form.get(f"required-{index}") == "on",
                              **({"options": options} if kind in CHOICE_KINDS else {})})
        index += 1
    return questions


@editor_bp.route("", methods=["POST"])
def save():
    questions = _posted()
    if not QuestionnaireForm().validate():
        return _page(_rows(questions), error="The form expired. Please save again.", status=422)

    def done(form):
        flash(f"Questionnaire saved: {len(form.questions)} questions.", "success")
        return redirect(url_for("questionnaire.edit"))

    def refused(error):
        fields = {}
        for name, message in error.fields.items():  # "questions.<n>.<field>" of the questions kept
            parts = name.split(".")
            if len(parts) >= 2 and parts[1].isdigit():
                fields[int(parts[1])] = message
        return _page(_rows(questions), error=error.message, fields=fields, status=422)

    return submit_form(lambda: intake_form_set(actor=current_user, specialist_id=current_user.id,
                                               questions=questions), done=done, refused=refused)
