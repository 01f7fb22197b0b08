"""Typed result blocks as JSON, and their schema (the machinery behind ``summary.json``).

A *block* is a frozen dataclass whose fields carry ``metadata={"unit": …, "doc": …}`` (and
``"key": …`` naming the keys of a ``dict[str, …]`` field), or a ``TypedDict`` whose keys carry
the same mapping as ``Annotated`` metadata. :func:`to_json` turns a block into
JSON-ready values (field order kept, tuples as lists, a ``None`` field as ``null``);
:func:`schema_rows` lists every path of a block type with its JSON type, unit and meaning;
:func:`resolve_path` finds the type at a dotted path (``impact.hazards[0].loss``) and
:func:`check_json` checks a JSON document against a block type.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["SchemaRow", "check_json", "resolve_path", "schema_rows", "to_json"]

_STEP = re.compile(r"\.?([A-Za-z_]\w*|<\w+>)|\[(\d*)\]")


def to_json(value: Any) -> Any:
    """``value`` (blocks, mappings, sequences, numbers, strings) as JSON-ready values.

    Blocks become dicts in field order, mappings dicts with ``str`` keys, tuples and lists
    lists; numpy scalars become Python numbers.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


@dataclass(frozen=True)
class SchemaRow:
    """One path of a block schema (``impact.hazards[].loss``, ``number``, ``CNY``, …)."""

    path: str
    type: str
    nullable: bool
    unit: str
    doc: str


def _strip_none(hint: Any) -> tuple[Any, bool]:
    """``X`` and whether ``None`` was allowed, for ``X | None``."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        return (args[0] if len(args) == 1 else Union[tuple(args)]), nullable  # noqa: UP007
    return hint, False


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_block(hint: Any) -> bool:
    """A dataclass or a ``TypedDict``: an object with named, typed keys."""
    return dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)


def _fields(cls: type) -> list[tuple[str, Any, Mapping[str, Any]]]:
    """Name, type hint and metadata of every key of a block (a TypedDict has no metadata)."""
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        return [(f.name, hints[f.name], f.metadata) for f in dataclasses.fields(cls)]
    rows: list[tuple[str, Any, Mapping[str, Any]]] = []
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        if typing.get_origin(hint) is typing.Annotated:
            base, *extras = typing.get_args(hint)
            meta = next((e for e in extras if isinstance(e, Mapping)), {})
            rows.append((name, base, meta))
        else:
            rows.append((name, hint, {}))
    return rows


def _json_type(hint: Any) -> str:
    """The JSON type name of a hint (without ``None``)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return "any"
    if _is_block(hint) or origin in (dict, Mapping):
        return "object"
    if origin in (list, tuple):
        inner, _ = _strip_none(typing.get_args(hint)[0])
        return f"list of {_json_type(inner)}"
    if origin is typing.Literal:
        return "string"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(hint, "any")


def schema_rows(cls: type, prefix: str = "") -> list[SchemaRow]:
    """Every path of the block type ``cls``, depth first, in field order.

    A list's items are written ``path[]``; a mapping's keys ``path.<key>`` (the field's
    ``"key"`` metadata names them).
    """
    rows: list[SchemaRow] = []
    for name, full, meta in _fields(cls):
        hint, nullable = _strip_none(full)
        path = f"{prefix}.{name}" if prefix else name
        doc = str(meta.get("doc", ""))
        if not doc and typing.is_typeddict(hint) and hint.__doc__:
            doc = hint.__doc__.strip().splitlines()[0]
        rows.append(SchemaRow(path, _json_type(hint), nullable, str(meta.get("unit", "")), doc))
        rows += _inner_rows(hint, path, meta)
    return rows


def _inner_rows(hint: Any, path: str, meta: Mapping[str, Any]) -> list[SchemaRow]:
    """The rows below a field: a block's fields, a list's or a mapping's items."""
    origin = typing.get_origin(hint)
    if _is_block(hint):
        return schema_rows(typing.cast(type, hint), path)
    if origin in (list, tuple, dict, Mapping):
        inner, nullable = _strip_none(typing.get_args(hint)[-1 if origin in (dict, Mapping) else 0])
        key = meta.get("key", "key")
        item = f"{path}.<{key}>" if origin in (dict, Mapping) else f"{path}[]"
        if _is_block(inner):
            return schema_rows(typing.cast(type, inner), item)
        if origin in (dict, Mapping):
            unit, doc = str(meta.get("unit", "")), str(meta.get("doc", ""))
            return [SchemaRow(item, _json_type(inner), nullable, unit, doc)]
    return []


def _step_into(hint: Any, key: str, index: str | None) -> Any | None:
    """The hint one step below ``hint`` (a field, a mapping key, a list item), or ``None``."""
    hint, _ = _strip_none(hint)
    origin = typing.get_origin(hint)
    if index is not None:
        return typing.get_args(hint)[0] if origin in (list, tuple) else None
    if _is_block(hint):
        return _hints(typing.cast(type, hint)).get(key)
    if origin in (dict, Mapping):
        return typing.get_args(hint)[1]
    return Any if hint is Any else None


def resolve_path(cls: type, path: str) -> Any | None:
    """The type hint at ``path`` (``impact.hazards[0].loss``) in block type ``cls``.

    Any mapping key matches a ``dict[str, …]`` field; ``None`` when the path leaves the schema.
    """
    hint: Any = cls
    for key, index in _STEP.findall(path):
        hint = _step_into(hint, key, index if not key else None)
        if hint is None:
            return None
    return hint


def _type_ok(hint: Any, value: Any) -> bool:
    """Whether a JSON scalar ``value`` fits the (non-container) hint."""
    if hint is Any:
        return True
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def check_json(cls: Any, value: Any, path: str = "") -> list[str]:
    """Every place where the JSON ``value`` does not fit the block type ``cls``.

    Returns
    -------
    list of str
        ``"<path>: <problem>"``: a key the schema does not list, a value of the wrong type,
        a ``null`` where none is allowed, a missing field (a nullable one may be absent).
    """
    hint, nullable = _strip_none(cls)
    if value is None:
        return [] if nullable or hint is Any else [f"{path}: null, expected {_json_type(hint)}"]
    origin = typing.get_origin(hint)
    if _is_block(hint):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        hints = _hints(typing.cast(type, hint))
        at = {k: f"{path}.{k}" if path else k for k in {*hints, *value}}
        problems = [f"{at[k]}: not in the schema" for k in value if k not in hints]
        # a nullable block may be absent (a stage that did not run)
        problems += [
            f"{at[k]}: missing"
            for k, h in hints.items()
            if k not in value and not _strip_none(h)[1]
        ]
        for k, v in value.items():
            if k in hints:
                problems += check_json(hints[k], v, at[k])
        return problems
    if origin in (dict, Mapping):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        inner = typing.get_args(hint)[1]
        return [p for k, v in value.items() for p in check_json(inner, v, f"{path}.{k}")]
    if origin in (list, tuple):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        inner = typing.get_args(hint)[0]
        return [p for k, v in enumerate(value) for p in check_json(inner, v, f"{path}[{k}]")]
    if not _type_ok(hint, value):
        return [f"{path}: {value!r}, expected {_json_type(hint)}"]
    return []
