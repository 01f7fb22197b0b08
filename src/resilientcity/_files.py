"""Atomic file writing: write beside the target, rename over it only when complete."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from resilientcity.errors import DataFileError

__all__ = ["atomic_path", "ensure_folder", "read_data_file", "write_text_atomic"]


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


def ensure_folder(path: str | os.PathLike[str]) -> Path:
    """Create the output folder ``path`` (and its parents) when missing; return it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(f"cannot create output folder {folder}: {exc}") from exc
    return folder
