"""pydantic validation errors as the project's :class:`~resilientcity.errors.Problem` list."""

from __future__ import annotations

from pydantic import ValidationError as PydanticError

from resilientcity.errors import Problem

__all__ = ["field_path", "pydantic_problems"]


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("hazards", 1, "stage_m")`` → ``"hazards[1].stage_m"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(exc: PydanticError, source: str) -> list[Problem]:
    """One problem per pydantic error.

    The file (``source``), the field path, what is expected and what was found (the input, unless
    the field is missing).
    """
    return [
        Problem(
            source,
            field_path(tuple(err["loc"])),
            err["msg"].removeprefix("Value error, "),
            found=repr(err["input"])[:80] if err["type"] != "missing" else "",
        )
        for err in exc.errors()
    ]
