"""The package's layout: no module grows past the size where it usually holds two ideas."""

from __future__ import annotations

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
