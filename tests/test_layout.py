"""The package's layout: no module grows past the size where it usually holds two ideas."""

from __future__ import annotations

import ast
from pathlib import Path

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


#: Query builders a router must leave to ``operations`` (issue 16: no SQL of their own).
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete"})
#: Session methods that run SQL.
SESSION_CALLS = frozenset({"execute", "scalar", "scalars", "get"})
#: The routers of the response (plans, tasks, incidents) and of sensing (things, datastreams,
#: observations, quarantine).
RESPONSE_AND_SENSING_ROUTERS = ("response.py", "sensing.py", "observations.py")


def sql_of_its_own(source: str) -> list[str]:
    """SQL in a module's ``source``: query builders imported from sqlalchemy, session calls.

    Each finding is ``"line N: what"``; a session is any name or attribute ending in
    ``session`` (``session.get``, ``self.session.execute`` …).
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [
                (node.lineno, f"line {node.lineno}: imports {a.name} from {node.module}")
                for a in node.names
                if a.name in SQL_BUILDERS
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_CALLS
        ):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name.endswith("session"):
                found.append((node.lineno, f"line {node.lineno}: calls {name}.{node.func.attr}"))
    return [text for _, text in sorted(found)]


def test_response_and_sensing_routers_run_no_sql_of_their_own() -> None:
    found = {
        name: sql
        for name in RESPONSE_AND_SENSING_ROUTERS
        if (sql := sql_of_its_own((PACKAGE / "api" / name).read_text(encoding="utf-8")))
    }
    assert not found, f"routers with SQL of their own (move it to operations): {found}"


def test_the_sql_check_sees_queries_and_session_calls() -> None:
    source = """
from sqlalchemy import func, select
from sqlalchemy.sql import delete
row = session.get(Model, 1)
rows = self.session.scalars(query)
other = CATEGORIES.get("fire")
"""
    assert sql_of_its_own(source) == [
        "line 2: imports select from sqlalchemy",
        "line 3: imports delete from sqlalchemy.sql",
        "line 4: calls session.get",
        "line 5: calls session.scalars",
    ]
    assert sql_of_its_own("from sqlalchemy.orm import Session\nx = d.get('a')\n") == []
