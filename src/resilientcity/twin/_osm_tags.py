"""Reading OpenStreetMap tags: a tag's values as text, leading numbers with units, element ids.

Shared by the importer's asset and road builders (:mod:`resilientcity.twin.osm_assets`,
:mod:`resilientcity.twin.osm`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def tag_values(frame: pd.DataFrame, key: str) -> pd.Series:
    """Values of tag ``key`` as stripped strings, ``""`` where the feature lacks it."""
    if key not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[key].fillna("").astype("str").str.strip()


def leading_number(values: pd.Series, unit: str = "", factor: float = 1.0) -> NDArray[np.float64]:
    """Leading number of each value (× ``factor`` when the regex ``unit`` follows); NaN if none."""
    parts = values.str.extract(rf"^(\d+(?:\.\d+)?)\s*({unit or '(?!)'})?", flags=re.IGNORECASE)
    number = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(parts[1].notna().to_numpy(), number * factor, number)


def element_ids(frame: pd.DataFrame) -> pd.Series:
    """``w123`` / ``r123`` / ``n123``: the OSM element type's initial and its id."""
    return frame["osm_type"].astype("str").str[0] + frame["id"].astype("int64").astype("str")
