"""What the network adapters read from the twin."""

from __future__ import annotations

import pandas as pd

from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.city import City

__all__ = ["twin_assets"]


def twin_assets(twin: City | pd.DataFrame) -> pd.DataFrame:
    """The twin's assets frame, checked for the columns the adapters read."""
    assets = twin.assets if isinstance(twin, City) else twin
    missing = [c for c in ("asset_id", "occupants") if c not in assets.columns]
    if missing:
        raise ValidationError(
            [
                Problem("assets", c, "a column of the twin's assets", found="missing")
                for c in missing
            ],
            what="twin assets",
        )
    return assets
