"""Selectors read: the pages, the JSON API and the jobs ask portal.selectors
(or the policies' loader) for rows and never write a query themselves, so every
read has one home where it is scoped and can be found.

Layers only import downwards: services write on top of selectors, policies,
models and domain rules, and none of those imports a service."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINT_PACKAGES = ("admin", "directory", "patient", "specialist", "bookings", "recurring", "feeds", "auth",
                      "packages", "account")


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


def _is_session_get(node: ast.AST) -> bool:
    """`db.session.get(...)`: a row read by id past the policies' loader (Flask's `session.get`
    reads the cookie session and is left alone)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"):
        return False
    owner = node.func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "session" and isinstance(owner.value, ast.Name)
            and owner.value.id == "db")


def session_get_lines(source: str) -> list[int]:
    return sorted(node.lineno for node in ast.walk(ast.parse(source)) if _is_session_get(node))


def test_the_scan_sees_every_interface_package():
    assert all((ROOT / "portal" / package).is_dir() for package in BLUEPRINT_PACKAGES)
    names = {path.relative_to(ROOT).parts[:2] for path in interface_modules()}
    assert ("portal", "api") in names and ("portal", "jobs") in names


def test_the_scan_finds_a_query():
    source = ("rows = db.session.scalars(sa.select(User))\nusers = User.query.all()\n"
              "n = db.session.query(User).count()\nfirst = select(User)\nq = urlsplit(url).query\n")
    assert query_lines(source) == [1, 2, 3, 4]


def test_the_scan_finds_a_row_read_by_id():
    source = ("row = db.session.get(User, user_id)\nname = request.args.get('q')\nflag = session.get('next')\n"
              "user = db.session.get(User, key, with_for_update=True)\n")
    assert session_get_lines(source) == [1, 4]


def test_no_row_read_by_id_in_views_api_and_jobs():
    hits = [f"{path.relative_to(ROOT)}:{line}" for path in interface_modules()
            for line in session_get_lines(path.read_text())]
    assert hits == [], "load the row through portal.policies.load (or a selector) instead"


def test_no_query_outside_selectors_in_views_api_and_jobs():
    hits = [f"{path.relative_to(ROOT)}:{line}" for path in interface_modules()
            for line in query_lines(path.read_text())]
    assert hits == [], "read through portal.selectors instead"


LOWER_LAYERS = ("selectors", "models", "domain", "policies", "errors")


def lower_layer_modules() -> list[Path]:
    """Each lower layer's modules, whether it is a package or one module."""
    paths = []
    for layer in LOWER_LAYERS:
        package = ROOT / "portal" / layer
        paths.extend(package.rglob("*.py") if package.is_dir() else [package.with_suffix(".py")])
    return sorted(paths)


def _is_services(name: str) -> bool:
    return name == "portal.services" or name.startswith("portal.services.")


def services_import_lines(source: str) -> list[int]:
    """Lines importing portal.services or a module in it, however spelled."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(_is_services(name) for name in names):
            lines.add(node.lineno)
    return sorted(lines)


def test_the_layer_scan_sees_selectors_models_and_domain():
    names = {path.relative_to(ROOT).parts[1].removesuffix(".py") for path in lower_layer_modules()}
    assert names == set(LOWER_LAYERS)


def test_the_layer_scan_finds_an_import_of_services():
    source = ("from portal.services.bulk import among\nfrom portal import services\nimport portal.clock\n"
              "import portal.services.outbox\nfrom portal.servicesx import y\n")
    assert services_import_lines(source) == [1, 2, 4]


def test_selectors_models_domain_and_policies_never_import_services():
    hits = [f"{path.relative_to(ROOT)}:{line}" for path in lower_layer_modules()
            for line in services_import_lines(path.read_text())]
    assert hits == [], "a lower layer imports a service: move the shared piece down"
