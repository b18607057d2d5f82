"""The migration files read in name order are the revision chain: one line, no branch, and each
file's docstring names the revision it really follows."""
from __future__ import annotations

import ast
import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _read(path: Path) -> dict:
    module = ast.parse(path.read_text())
    values = {target.id: node.value.value for node in module.body if isinstance(node, ast.Assign)
              for target in node.targets
              if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant)}
    docstring = ast.get_docstring(module) or ""
    revises = re.search(r"^Revises:[ \t]*(\S*)[ \t]*$", docstring, re.MULTILINE)
    return {"file": path.name, "revision": values["revision"], "down_revision": values["down_revision"],
            "revises": revises.group(1) if revises else None,
            "revision_id": re.search(r"^Revision ID: (\S+)$", docstring, re.MULTILINE).group(1)}


def _migrations() -> list[dict]:
    return [_read(path) for path in sorted(VERSIONS.glob("*.py"))]


def test_file_names_sort_in_chain_order():
    migrations = _migrations()
    assert migrations[0]["down_revision"] is None, migrations[0]["file"]
    for before, after in zip(migrations, migrations[1:], strict=False):
        assert after["down_revision"] == before["revision"], (
            f"{after['file']} follows {after['down_revision']!r}, but sorts after {before['file']}")


def test_the_chain_is_one_line():
    migrations = _migrations()
    revisions = [m["revision"] for m in migrations]
    assert len(set(revisions)) == len(revisions)
    parents = [m["down_revision"] for m in migrations]
    assert all(isinstance(parent, str | None) for parent in parents), "a merge revision has a tuple"
    assert len(set(parents)) == len(parents), "two revisions follow the same parent: a branch"
    heads = set(revisions) - set(parents)
    assert len(heads) == 1


def test_each_docstring_names_its_own_revision_and_parent():
    for migration in _migrations():
        assert migration["revision_id"] == migration["revision"], migration["file"]
        assert (migration["revises"] or None) == migration["down_revision"], migration["file"]
        assert migration["revision"] in migration["file"], "a file's name carries its revision id"
