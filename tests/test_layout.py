"""The package's layout: no module grows past the size where it usually holds two ideas.

Routers call ``operations`` for data and hold no SQL of their own (issue 16).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "resilientcity"
#: Most lines a Python module of the package may have (issue 16: split along real seams).
MAX_LINES = 600


def modules_over(root: Path, limit: int) -> list[tuple[str, int]]:
    """Python modules under ``root`` (outside ``node_modules``) longer than ``limit`` lines."""
    out = []
    for path in sorted(root.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            out.append((str(path.relative_to(root)), lines))
    return out


def test_no_module_is_over_600_lines() -> None:
    over = modules_over(PACKAGE, MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines (split them along real seams): {over}"


def test_the_size_check_sees_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "vendored.py").write_text("x = 1\n" * 700, encoding="utf-8")
    assert modules_over(tmp_path, MAX_LINES) == [(str(Path("sub") / "long.py"), MAX_LINES + 1)]


#: What a router may not import from SQLAlchemy: it asks operations for data instead.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete"})
#: What a router may not call on a session.
SESSION_QUERIES = frozenset({"execute", "scalar", "scalars", "get"})


def _is_session(node: ast.expr) -> bool:
    """Whether ``node`` names a session (``session``, ``db_session``, ``self.session``, …)."""
    if isinstance(node, ast.Name):
        return "session" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "session" in node.attr.lower()
    return False


def sql_in(source: str) -> list[str]:
    """SQL a module writes itself: SQLAlchemy query builders it imports, session queries it calls.

    Each finding is ``"line N: what"``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"line {node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name in SQL_BUILDERS
            ]
        elif isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            if isinstance(node.value, ast.Name) and node.value.id in ("sqlalchemy", "sa"):
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and _is_session(node.func.value)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}(…)")
    return found


@pytest.mark.parametrize("router", sorted(p.name for p in (PACKAGE / "api").glob("*.py")))
def test_no_module_of_the_api_holds_sql_of_its_own(router: str) -> None:
    path = PACKAGE / "api" / router
    found = sql_in(path.read_text(encoding="utf-8"))
    assert not found, f"api/{router} queries the store itself (call operations): {found}"


def test_the_sql_check_sees_queries_and_builders() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.sql import delete as remove
def route(service, session, cache):
    session.execute(select(1))
    service.session.get(Row, 1)
    db_session.scalars(sa.update(Row))
    cache.get("key")
    session.add(Row())
"""
    assert sql_in(source) == [
        "line 3: from sqlalchemy import select",
        "line 4: from sqlalchemy.sql import delete",
        "line 6: session.execute(…)",
        "line 7: service.session.get(…)",
        "line 8: db_session.scalars(…)",
        "line 8: sa.update",
    ]
