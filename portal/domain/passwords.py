"""What a password must be: long, not the e-mail, not one of the 10,000 most common.

The list ships with the package (portal/data/common-passwords.txt, see the README there)."""
from __future__ import annotations

from functools import cache
from importlib.resources import files

MIN_LENGTH = 12
MAX_LENGTH = 200


@cache
def common_passwords() -> frozenset[str]:
    text = files("portal").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why `password` may not be used by the owner of `email`, in words; None when it may."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.strip().lower()
    if email and lowered == email.strip().lower():
        return "Do not use your e-mail address as your password."
    if lowered in common_passwords():
        return "This password is too common; choose one that is harder to guess."
    return None
