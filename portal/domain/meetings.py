"""Pure rules of where a session happens and of intake questionnaires: checking a service's
location, making a session's own room URL, checking questions and answers.

Each check returns the clean value or raises ValueError with {field: message} as its argument,
which the services turn into a 400 with those fields."""
from __future__ import annotations

import re
import secrets
from datetime import date
from urllib.parse import urlsplit

LOCATION_KINDS = ("in_person", "video", "phone")
QUESTION_KINDS = ("short_text", "long_text", "single_choice", "multiple_choice", "yes_no", "date")
CHOICE_KINDS = ("single_choice", "multiple_choice")
MAX_QUESTIONS = 50
MAX_OPTIONS = 20
TEXT_LIMITS = {"short_text": 300, "long_text": 5000}
JOIN_OPENS_MINUTES = 15


class Invalid(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


def _https_url(value, field: str) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc or len(text) > 500 or any(c.isspace() for c in text):
        raise Invalid({field: "An https:// address of at most 500 characters."})
    return text


def clean_location(value) -> dict:
    """{"kind", "address", "room_url"} of a service: in_person needs an address; video may name a
    fixed https room (without one each booking gets its own room); phone needs neither."""
    if not isinstance(value, dict):
        raise Invalid({"location": "An object with kind, and address or room_url."})
    unknown = set(value) - {"kind", "address", "room_url"}
    if unknown:
        raise Invalid({f"location.{k}": "Unknown field." for k in sorted(unknown)})
    kind = value.get("kind")
    if kind not in LOCATION_KINDS:
        raise Invalid({"location.kind": "One of in_person, video, phone."})
    address = value.get("address")
    room_url = value.get("room_url")
    if address is not None and not isinstance(address, str):
        raise Invalid({"location.address": "Text."})
    address = (address or "").strip() or None
    if kind == "in_person":
        if not address or len(address) > 300:
            raise Invalid({"location.address": "Where the session is held (1 to 300 characters)."})
    elif address:
        raise Invalid({"location.address": "Only a session held in person has an address."})
    if room_url not in (None, ""):
        if kind != "video":
            raise Invalid({"location.room_url": "Only a video session has a room."})
        room_url = _https_url(room_url, "location.room_url")
    return {"kind": kind, "address": address, "room_url": room_url or None}


def new_room_url(base_url: str) -> str:
    """A room on the video host that nobody can guess: 128 random bits in its name."""
    return f"{base_url.rstrip('/')}/clinic-{secrets.token_urlsafe(16)}"


def _question_id(value, index: int, seen: set[str]) -> str:
    qid = str(value or "").strip() or f"q{index + 1}"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", qid):
        raise Invalid({f"questions.{index}.id": "Letters, digits, - and _ (at most 40)."})
    if qid in seen:
        raise Invalid({f"questions.{index}.id": "Each question has its own id."})
    seen.add(qid)
    return qid


def clean_questions(value) -> list[dict]:
    """The ordered questions of a questionnaire: each {"id", "kind", "label", "required", "options"}."""
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        raise Invalid({"questions": f"A list of at most {MAX_QUESTIONS} questions."})
    seen: set[str] = set()
    questions = []
    for index, raw in enumerate(value):
        where = f"questions.{index}"
        if not isinstance(raw, dict):
            raise Invalid({where: "An object with kind and label."})
        unknown = set(raw) - {"id", "kind", "label", "required", "options"}
        if unknown:
            raise Invalid({f"{where}.{k}": "Unknown field." for k in sorted(unknown)})
        kind = raw.get("kind")
        if kind not in QUESTION_KINDS:
            raise Invalid({f"{where}.kind": "One of " + ", ".join(QUESTION_KINDS) + "."})
        label = raw.get("label")
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= 300:
            raise Invalid({f"{where}.label": "The question (1 to 300 characters)."})
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise Invalid({f"{where}.required": "true or false."})
        options = raw.get("options") or []
        if kind in CHOICE_KINDS:
            if (not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS
                    or not all(isinstance(o, str) and 1 <= len(o.strip()) <= 120 for o in options)
                    or len({o.strip() for o in options}) != len(options)):
                raise Invalid({f"{where}.options": f"2 to {MAX_OPTIONS} different choices, "
                                                   "each 1 to 120 characters."})
            options = [o.strip() for o in options]
        elif options:
            raise Invalid({f"{where}.options": "Only choice questions have options."})
        questions.append({"id": _question_id(raw.get("id"), index, seen), "kind": kind, "label": label.strip(),
                          "required": required, **({"options": options} if kind in CHOICE_KINDS else {})})
    return questions


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def _answer(question: dict, value):
    kind = question["kind"]
    if kind in TEXT_LIMITS:
        if not isinstance(value, str) or len(value) > TEXT_LIMITS[kind]:
            raise ValueError(f"Text of at most {TEXT_LIMITS[kind]} characters.")
        return value.strip()
    if kind == "single_choice":
        if value not in question["options"]:
            raise ValueError("One of the choices given.")
        return value
    if kind == "multiple_choice":
        if not isinstance(value, list) or not all(v in question["options"] for v in value):
            raise ValueError("Some of the choices given.")
        return [o for o in question["options"] if o in value]
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise ValueError("true or false.")
        return value
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("A date (YYYY-MM-DD).") from None


def clean_answers(questions: list[dict], value) -> dict:
    """Answers keyed by question id: each of its question's kind, every required one given."""
    if not isinstance(value, dict):
        raise Invalid({"answers": "An object of answers keyed by question id."})
    known = {q["id"] for q in questions}
    errors = {f"answers.{k}": "No such question." for k in value if k not in known}
    answers = {}
    for question in questions:
        given = value.get(question["id"])
        if _empty(given):
            if question["required"]:
                errors[f"answers.{question['id']}"] = "Required."
            continue
        try:
            answers[question["id"]] = _answer(question, given)
        except ValueError as why:
            errors[f"answers.{question['id']}"] = str(why)
    if errors:
        raise Invalid(errors)
    return answers
