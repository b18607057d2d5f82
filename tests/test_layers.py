"""Selectors read: the pages, the JSON API and the jobs ask portal.selectors
(or the policies' loaders) for rows and never write a query themselves, so every
read has one home where it is scoped and can be found."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINT_PACKAGES = ("admin", "patient", "specialist", "bookings", "recurring", "feeds", "auth", "packages", "account")


def interface_modules() -> list[Path]:
    paths = [*(ROOT / "portal" / "api").rglob("*.py"), *(ROOT / "portal" / "jobs").rglob("*.py")]
    for package in BLUEPRINT_PACKAGES:
        paths.extend((ROOT / "portal" / package).rglob("*.py"))
    return sorted(paths)


def _is_query(node: ast.AST) -> bool:
    """`select(...)` however imported, `session.query(...)`, and `Model.query`.

    A lower-case name's `.query` is left alone: `urlsplit(...).query` is a query string."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id == "select"
        if isinstance(func, ast.Attribute) and func.attr == "select":
            return True
        return (isinstance(func, ast.Attribute) and func.attr == "query"
                and getattr(func.value, "attr", getattr(func.value, "id", None)) == "session")
    return (isinstance(node, ast.Attribute) and node.attr == "query" and isinstance(node.value, ast.Name)
            and node.value.id[:1].isupper())


def query_lines(source: str) -> list[int]:
    return sorted(node.lineno for node in ast.walk(ast.parse(source)) if _is_query(node))


def test_the_scan_sees_every_interface_package():
    assert all((ROOT / "portal" / package).is_dir() for package in BLUEPRINT_PACKAGES)
    names = {path.relative_to(ROOT).parts[:2] for path in interface_modules()}
    assert ("portal", "api") in names and ("portal", "jobs") in names


def test_the_scan_finds_a_query():
    source = ("rows = db.session.scalars(sa.select(User))\nusers = User.query.all()\n"
              "n = db.session.query(User).count()\nfirst = select(User)\nq = urlsplit(url).query\n")
    assert query_lines(source) == [1, 2, 3, 4]


def test_no_query_outside_selectors_in_views_api_and_jobs():
    hits = [f"{path.relative_to(ROOT)}:{line}" for path in interface_modules()
            for line in query_lines(path.read_text())]
    assert hits == [], "read through portal.selectors instead"
