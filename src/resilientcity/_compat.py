"""Optional dependencies, imported on demand with a friendly error (as geopandas does)."""

from __future__ import annotations

import importlib
from types import ModuleType

from resilientcity.errors import MissingDependency

#: The extra that installs each optional package.
_EXTRAS = {
    "pyrosm": "osm",
    "pyswmm": "swmm",
    "pandapower": "power",
    "wntr": "water",
    "openpyxl": "excel",
}


def import_optional_dependency(name: str, purpose: str) -> ModuleType:
    """Import ``name`` or raise :class:`MissingDependency` naming the extra that installs it.

    Parameters
    ----------
    name
        The importable module name, e.g. ``"pyrosm"``.
    purpose
        What needs it, e.g. ``"importing OpenStreetMap extracts"``; goes into the message.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        extra = _EXTRAS.get(name)
        hint = f"pip install 'resilientcity[{extra}]'" if extra else f"pip install {name}"
        raise MissingDependency(f"{purpose} needs the package {name!r}: {hint}") from exc
