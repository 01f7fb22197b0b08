"""Atomic file writing: write beside the target, rename over it only when complete."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resilientcity.errors import DataFileError

__all__ = ["atomic_path", "write_text_atomic"]


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
