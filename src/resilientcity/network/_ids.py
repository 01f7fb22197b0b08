"""Asset and edge ids matched by Arrow: membership and positions of string ids.

``pandas`` ``str`` ``isin`` converts every value of the set to a Python object first, which
takes seconds for the million ids of a large city; these hash with Arrow instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "id_positions",
    "isin_ids",
]


def _arrow_text(values: Any) -> pa.Array | pa.ChunkedArray:
    """Ids as Arrow strings (``str`` columns convert without a copy)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if not isinstance(values, pd.api.extensions.ExtensionArray):
        values = pd.array(np.asarray(values, dtype=object).astype(str), dtype="str")
    elif not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    return pa.array(values)


def isin_ids(values: Any, value_set: Any) -> NDArray[np.bool_]:
    """Whether each id is in ``value_set``, hashed by Arrow.

    Parameters
    ----------
    values
        Ids (array, Series or Index; converted to text).
    value_set
        The ids to look for.

    Returns
    -------
    numpy.ndarray of bool
        One value per id of ``values``.
    """
    if len(value_set) == 0 or len(values) == 0:  # Arrow cannot cast to an empty array's type
        return np.zeros(len(values), dtype=bool)
    text = _arrow_text(values)
    chosen = _arrow_text(value_set)
    if isinstance(chosen, pa.ChunkedArray):
        chosen = chosen.combine_chunks()
    found = pc.is_in(text, value_set=chosen.cast(text.type))
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def id_positions(values: Any, value_set: Any) -> NDArray[np.int64]:
    """Index of each id in ``value_set`` (the first when repeated); ``-1`` when absent.

    Only the few ``values`` are hashed: the (large) ``value_set`` is scanned against them.

    Parameters
    ----------
    values
        The ids to place (few).
    value_set
        The ids to find them in (e.g. every ``asset_id`` of a city).

    Returns
    -------
    numpy.ndarray of int64
        Position in ``value_set`` per id of ``values``, ``-1`` for ids it lacks.
    """
    candidates = np.flatnonzero(isin_ids(value_set, values))
    if candidates.size == 0:
        return np.full(len(values), -1, dtype=np.int64)
    chosen = _arrow_text(value_set)
    text = _arrow_text(values)
    subset = chosen.take(pa.array(candidates))
    if isinstance(subset, pa.ChunkedArray):
        subset = subset.combine_chunks()
    where = pc.index_in(text, value_set=subset.cast(text.type))
    local = np.asarray(where.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(local >= 0, candidates[np.maximum(local, 0)], -1)
