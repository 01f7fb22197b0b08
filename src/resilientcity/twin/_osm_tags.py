"""Reading OpenStreetMap tags: a tag's values as text, leading numbers with units, element ids.

Shared by the importer's asset and road builders (:mod:`resilientcity.twin.osm_assets`,
:mod:`resilientcity.twin.osm`). A tag has few distinct values over a million features
(``building:levels``, ``amenity``, ``maxspeed`` …), so the string work (strip, regex) is done
once per distinct value and spread back with :func:`pandas.factorize`: the results are those of
doing it on every value, at the cost of the distinct ones.
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
    column = frame[key]
    present = column.notna().to_numpy()
    text = np.full(len(column), "", dtype=object)
    if present.any():
        codes, distinct = pd.factorize(column[present].astype("str"))
        text[present] = distinct.str.strip().to_numpy(dtype=object)[codes]
    return pd.Series(text, index=frame.index, dtype="str", name=key)


def leading_number(values: pd.Series, unit: str = "", factor: float = 1.0) -> NDArray[np.float64]:
    """Leading number of each value (× ``factor`` when the regex ``unit`` follows); NaN if none."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    text = pd.Series(distinct, dtype="str")
    parts = text.str.extract(rf"^(\d+(?:\.\d+)?)\s*({unit or '(?!)'})?", flags=re.IGNORECASE)
    number = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
    number = np.where(parts[1].notna().to_numpy(), number * factor, number)
    return np.asarray(number[codes], dtype=np.float64)


def element_ids(frame: pd.DataFrame) -> pd.Series:
    """``w123`` / ``r123`` / ``n123``: the OSM element type's initial and its id."""
    codes, types = pd.factorize(frame["osm_type"].astype("str"), use_na_sentinel=False)
    initial = pd.Series(types, dtype="str").str[0].to_numpy(dtype=object)[codes]
    ids = frame["id"].astype("int64").astype("str").to_numpy(dtype=object)
    return pd.Series(initial + ids, index=frame.index, dtype="str")
