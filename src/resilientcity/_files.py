"""Atomic file writing: write beside the target, rename over it only when complete.

A single file is written under a temporary name and renamed over its target
(:func:`atomic_path`); a set of files that belong together (the outputs of a run) is written
into a staging folder that then takes the output folder's place (:func:`atomic_folder`).
"""

from __future__ import annotations

import copy
import ctypes
import errno
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from resilientcity.errors import DataFileError

__all__ = [
    "atomic_folder",
    "atomic_path",
    "check_output_folder",
    "ensure_folder",
    "merge_tables",
    "read_data_file",
    "write_json",
    "write_text_atomic",
]

#: The file of an output set that lists the set (its ``outputs``: key → file name).
SET_INDEX = "summary.json"
#: Suffix of the staging folders of :func:`atomic_folder` (hidden, beside the output folder).
_STAGING = ".partial"


@contextmanager
def atomic_path(target: str | os.PathLike[str], what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` when the block ends.

    The temporary name keeps the target's suffix (GDAL picks drivers by it). On any error the
    target is left as it was, the temporary file is removed, and a :class:`DataFileError`
    naming ``what`` and the target is raised (a ``DataFileError`` passes through unchanged).
    """
    path = Path(target)
    if not path.parent.is_dir():
        raise DataFileError(f"cannot write {what} {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except DataFileError:
        raise
    except Exception as exc:
        raise DataFileError(f"cannot write {what} {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike[str], text: str, what: str = "file") -> None:
    """Write UTF-8 ``text`` to ``target`` atomically (see :func:`atomic_path`)."""
    with atomic_path(target, what) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write ``data`` as UTF-8 JSON (indented, non-ASCII kept), atomically."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2), what="JSON")


def read_data_file(path: str | os.PathLike[str], what: str, as_yaml: bool = False) -> Any:
    """Parse a JSON or YAML data file: YAML for ``.yaml``/``.yml`` or ``as_yaml``, else JSON.

    YAML is a superset of JSON, so ``as_yaml`` also reads JSON files.

    Raises
    ------
    DataFileError
        ``no such <what> file: <path>`` when missing; ``<path> is not a readable JSON (YAML)
        file: <reason>`` when it cannot be read or parsed.
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such {what} file: {source}")
    is_yaml = as_yaml or source.suffix.lower() in {".yaml", ".yml"}
    try:
        text = source.read_text(encoding="utf-8")
        return yaml.safe_load(text) if is_yaml else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if is_yaml else "JSON"
        raise DataFileError(f"{source} is not a readable {kind} file: {exc}") from exc


def merge_tables(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over``, nested tables merged key by key (``base`` is not changed).

    How a data file that overrides another is read: a key of ``over`` replaces the key of
    ``base``, except where both are tables, which are merged the same way.
    """
    out = copy.deepcopy(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge_tables(out[key], value) if both else value
    return out


def ensure_folder(path: str | os.PathLike[str]) -> Path:
    """Create the output folder ``path`` (and its parents) when missing; return it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(f"cannot create output folder {folder}: {exc}") from exc
    return folder


def _previous_set(folder: Path) -> set[str]:
    """Names of the output set in ``folder``: its index and the files the index lists."""
    index = folder / SET_INDEX
    try:
        listed = json.loads(index.read_text(encoding="utf-8")).get("outputs", {})
        names = {str(name) for name in listed.values()} if isinstance(listed, dict) else set()
    except (OSError, ValueError, AttributeError):
        return set()
    return {SET_INDEX, *(n for n in names if n and "/" not in n and n not in (".", ".."))}


def _exchange(a: Path, b: Path) -> None:
    """Swap the folders ``a`` and ``b`` (``a`` and ``b`` both exist).

    On Linux one ``renameat2(RENAME_EXCHANGE)``: atomic, ``b`` is never absent. Elsewhere (or
    on a file system without it) three renames, ``b`` absent for an instant.
    """
    if sys.platform == "linux":
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
        if renameat2 is not None:
            at_fdcwd, rename_exchange = -100, 2
            if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
                return
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + ".old")
    os.rename(b, aside)
    try:
        os.rename(a, b)
    except OSError:
        os.rename(aside, b)
        raise
    os.rename(aside, a)


def _remove_stale_staging(out: Path) -> None:
    """Remove staging folders of ``out`` left by runs whose process is gone."""
    prefix = f".{out.name}."
    for entry in out.parent.iterdir():
        if not (entry.name.startswith(prefix) and entry.name.endswith(_STAGING)):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # alive, another user's
            continue


def _publish(staging: Path, out: Path) -> None:
    """Put the complete set in ``staging`` in ``out``'s place, keeping the user's files.

    Entries of ``out`` that are neither in the new set nor in the set it held before (the
    user's files and folders) are carried over: files as hard links (copies where links are
    refused), folders moved just before the swap (and moved back if the swap fails). After the
    swap the old folder holds only the old set and entries already carried over, and is
    deleted.
    """
    if not out.exists():
        os.rename(staging, out)
        return
    new = {entry.name for entry in staging.iterdir()}
    previous = _previous_set(out)
    others = [e for e in out.iterdir() if e.name not in new and e.name not in previous]
    folders = [e for e in others if e.is_dir() and not e.is_symlink()]
    for entry in others:
        if entry not in folders:
            try:
                os.link(entry, staging / entry.name, follow_symlinks=False)
            except OSError:
                shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
    moved: list[Path] = []
    try:
        for entry in folders:
            os.rename(entry, staging / entry.name)
            moved.append(entry)
        _exchange(staging, out)  # now `out` is the new set, `staging` the old one
    except OSError:
        for entry in moved:
            os.rename(staging / entry.name, entry)
        raise
    shutil.rmtree(staging, ignore_errors=True)  # what is left there next time is removed then


def check_output_folder(target: str | os.PathLike[str], what: str = "outputs") -> Path:
    """``target`` as a :class:`Path` when :func:`atomic_folder` can put a set of files there.

    Raises
    ------
    DataFileError
        ``target`` is a file, or is or holds the current folder (the swap would leave the
        shell in a deleted folder).
    """
    out = Path(target)
    here = Path.cwd().resolve()
    resolved = out.resolve()
    if resolved == here or resolved in here.parents:
        raise DataFileError(
            f"cannot write {what} into {out}: it is or holds the current folder; "
            "give a folder of its own (e.g. --out out)"
        )
    if out.exists() and not out.is_dir():
        raise DataFileError(f"cannot write {what} into {out}: it is a file, not a folder")
    return out


@contextmanager
def atomic_folder(target: str | os.PathLike[str], what: str = "outputs") -> Iterator[Path]:
    """Yield a staging folder for a set of files; it takes ``target``'s place when complete.

    The files are written into a hidden folder beside ``target``
    (``.<name>.<pid>-<id>.partial``). When the block ends, that folder and ``target`` are
    swapped (atomically on Linux), so ``target`` holds either its previous set of files or the
    complete new one, never a mix. Files and folders of ``target`` that are not part of the
    previous set (the user's; the set is what ``summary.json`` lists, with itself) are kept;
    a file of the user named like a file of the new set is replaced. When the block raises,
    ``target`` is left as it was and the staging folder is removed (a process killed leaves
    it; the next run into ``target`` removes it).

    Raises
    ------
    DataFileError
        ``target`` is a file, is or holds the current folder (it would be swapped away under
        the shell), or the set cannot be put in place. Errors of the block pass through
        unchanged.
    """
    out = check_output_folder(target, what)
    if out.is_symlink():  # the folder it points to takes the new set; the link stays
        out = out.resolve()
    ensure_folder(out.parent)
    _remove_stale_staging(out)
    staging = out.parent / f".{out.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_STAGING}"
    try:
        staging.mkdir()
    except OSError as exc:
        raise DataFileError(f"cannot write {what} into {out}: {exc}") from exc
    try:
        yield staging
        try:
            _publish(staging, out)
        except OSError as exc:
            raise DataFileError(f"cannot put {what} in place in {out}: {exc}") from exc
    finally:
        # after a swap the old set was removed there; otherwise the unfinished new one is
        shutil.rmtree(staging, ignore_errors=True)
