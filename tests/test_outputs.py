"""Output sets written as one: a staging folder that takes the output folder's place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from proc_support import run_in_group
from resilientcity._files import atomic_folder, check_output_folder
from resilientcity.errors import DataFileError


def _write_set(folder: Path, tag: str, names: tuple[str, ...] = ("a.txt", "b.txt")) -> None:
    for name in names:
        (folder / name).write_text(f"{name} of {tag}")
    outputs = {name.split(".")[0]: name for name in names}
    (folder / "summary.json").write_text(json.dumps({"tag": tag, "outputs": outputs}))


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry below ``folder``: file bytes, or the target of a link, or 'folder'."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[key] = "folder"
        else:
            found[key] = path.read_bytes()
    return found


def _staging_left(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_a_new_folder_appears_only_when_the_set_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out) as staging:
        _write_set(staging, "new")
        assert not out.exists() and staging.parent == tmp_path
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "summary.json"]
    assert _staging_left(tmp_path) == []


def test_a_failure_part_way_leaves_the_previous_set_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _write_set(out, "old")
    (out / "notes.txt").write_text("mine")
    before = _snapshot(out)
    with pytest.raises(RuntimeError, match="the report failed"), atomic_folder(out) as staging:
        (staging / "summary.json").write_text('{"tag": "new"}')  # a new summary first …
        raise RuntimeError("the report failed")  # … then a later step fails
    assert _snapshot(out) == before
    assert _staging_left(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), atomic_folder(out) as staging:
        _write_set(staging, "new")
        raise KeyboardInterrupt
    assert _snapshot(out) == before and _staging_left(tmp_path) == []


def test_the_new_set_replaces_the_old_and_the_users_files_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _write_set(out, "old", ("a.txt", "old_only.csv"))
    (out / "notes.txt").write_text("mine")
    (out / "b.txt").write_text("a file of mine named like an output")
    (out / "data").mkdir()
    (out / "data" / "x.csv").write_text("1,2")
    (out / "link").symlink_to("notes.txt")
    inode = (out / "notes.txt").stat().st_ino
    with atomic_folder(out) as staging:
        _write_set(staging, "new")
    after = _snapshot(out)
    assert after == {
        "a.txt": b"a.txt of new",
        "b.txt": b"b.txt of new",  # named like an output: replaced
        "data": "folder",
        "data/x.csv": b"1,2",
        "link": "-> notes.txt",
        "notes.txt": b"mine",
        "summary.json": after["summary.json"],
    }
    assert json.loads(after["summary.json"])["tag"] == "new"  # old_only.csv went with its set
    assert (out / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert _staging_left(tmp_path) == []


def test_a_folder_without_a_previous_set_keeps_everything_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("an old report without its summary")
    (out / "keep.txt").write_text("k")
    (out / "summary.json").write_text("not JSON")  # unreadable: no previous set known
    with atomic_folder(out) as staging:
        (staging / "report.html").write_text("new")
    assert _snapshot(out) == {
        "keep.txt": b"k",
        "report.html": b"new",
        "summary.json": b"not JSON",
    }


def test_the_current_folder_and_a_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = tmp_path / "out" / "inner"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    for target in (".", "..", str(tmp_path / "out")):
        with pytest.raises(DataFileError, match="is or holds the current folder"):
            check_output_folder(target)
        with pytest.raises(DataFileError, match="current folder"), atomic_folder(target):
            pytest.fail("the block ran")
    assert check_output_folder("sub") == Path("sub")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataFileError, match="it is a file, not a folder"):
        check_output_folder(tmp_path / "file")
    assert _staging_left(tmp_path) == []


def test_staging_folders_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = run_in_group(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        timeout=60,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = tmp_path / "out"
    stale = tmp_path / f".out.{int(dead.stdout)}-0badc0de.partial"
    live = tmp_path / f".out.{os.getppid()}-0badc0de.partial"
    other = tmp_path / ".outer.1-0badc0de.partial"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "report.html").write_text("partial")
    with atomic_folder(out) as staging:
        _write_set(staging, "new")
    assert not stale.exists() and live.exists() and other.exists()


def test_a_linked_output_folder_stays_a_link_to_the_new_set(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    _write_set(real, "old")
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    with atomic_folder(link) as staging:
        _write_set(staging, "new")
    assert link.is_symlink() and link.resolve() == real
    assert json.loads((link / "summary.json").read_text())["tag"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]
