"""Checking incoming observations before they are stored (pure: frames in, frames out).

Every observation is accepted or rejected with one reason, the first that applies in this
order:

``malformed``
    A required field is missing, or the phenomenon time is not an ISO 8601 time with a UTC
    offset (``2026-07-01T08:00:00+08:00``, ``…Z`` or ``…z``; a time without an offset is
    ambiguous), or it is one outside the times the store keeps (:data:`FIRST_TIME` to
    :data:`LAST_TIME`, the range of pandas' nanosecond times; the message says so).
``unknown_datastream``
    No datastream has that id or name.
``not_a_number``
    The result is not a finite number: text (``"30.5"`` too: a JSON result is a number; the
    cells of a CSV file, all text, are read as numbers before they get here), a boolean,
    ``NaN``, ``inf``, empty.
``future``
    The phenomenon time is later than the receiving time plus a tolerance for clock skew.
``wrong_unit``
    The observation names a unit other than its datastream's.
``out_of_range``
    The result is outside the datastream's physically possible range.

Two more reasons are given while storing (:mod:`resilientcity.operations.ingest`):
``conflict`` (the same datastream and time already stored with another result) and
``duplicate`` is not a rejection (the same observation again is acknowledged and not stored
twice).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "FIRST_TIME",
    "FUTURE_TOLERANCE",
    "LAST_TIME",
    "REASONS",
    "DatastreamIndex",
    "DatastreamInfo",
    "as_text",
    "check_observations",
]

#: Reasons an observation is rejected (see the module docstring).
REASONS = (
    "malformed",
    "unknown_datastream",
    "not_a_number",
    "future",
    "wrong_unit",
    "out_of_range",
    "conflict",
)
#: How far in the future a phenomenon time may be (clock skew between sensor and server).
FUTURE_TOLERANCE = timedelta(minutes=5)
_OFFSET = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
#: The earliest and the latest phenomenon time the store keeps (pandas' nanosecond times).
FIRST_TIME = pd.Timestamp.min.ceil("s").tz_localize("UTC")
LAST_TIME = pd.Timestamp.max.floor("s").tz_localize("UTC")
#: Why a readable time outside :data:`FIRST_TIME` … :data:`LAST_TIME` is refused.
_BEYOND = (
    f"phenomenonTime: expected a time from {FIRST_TIME:%Y-%m-%dT%H:%M:%SZ} to "
    f"{LAST_TIME:%Y-%m-%dT%H:%M:%SZ}, the times the store keeps"
)
_UNREADABLE = (
    "phenomenonTime: expected an ISO 8601 time with a UTC offset, e.g. 2026-07-01T08:00:00Z"
)


@dataclass(frozen=True)
class DatastreamInfo:
    """What validation and the warning engine need to know of a datastream."""

    id: int
    name: str
    observed_property: str
    unit: str
    min_value: float
    max_value: float
    agency_id: str


class DatastreamIndex:
    """Datastreams by id and by name.

    Parameters
    ----------
    datastreams
        The datastreams of the store.
    """

    def __init__(self, datastreams: Iterable[DatastreamInfo]) -> None:
        self.by_id: dict[int, DatastreamInfo] = {d.id: d for d in datastreams}
        self.by_name: dict[str, DatastreamInfo] = {d.name: d for d in self.by_id.values()}

    def __len__(self) -> int:
        return len(self.by_id)

    def resolve(self, refs: pd.Series) -> np.ndarray:
        """Datastream ids of ``refs`` (ids as numbers or digit strings, or names); -1 if unknown."""
        if refs.dtype.kind == "i":  # ids only (a batch of the REST API): no loop over rows
            values = refs.to_numpy(dtype=np.int64)
            known = np.fromiter(self.by_id, np.int64, len(self.by_id))
            return np.where(np.isin(values, known), values, -1)
        lookup: Mapping[object, int] = {
            **{name: d.id for name, d in self.by_name.items()},
            **{d.id: d.id for d in self.by_id.values()},
            **{str(d.id): d.id for d in self.by_id.values()},
        }
        ids = np.full(len(refs), -1, dtype=np.int64)
        # Rows repeat the same few references: each distinct (type, value) is looked up once
        # (the type is part of the key, so that True is not taken for the id 1).
        seen: dict[tuple[type, object], int] = {}
        for i, ref in enumerate(refs.to_numpy(dtype=object)):
            if not isinstance(ref, (int, str, float)):
                continue
            key = (type(ref), ref)
            found = seen.get(key)
            if found is None:
                found = seen[key] = _lookup(lookup, ref)
            ids[i] = found
        return ids

    def column(self, ids: np.ndarray, attribute: str) -> np.ndarray:
        """``attribute`` of each datastream in ``ids`` (ids must be known)."""
        unique, inverse = np.unique(ids, return_inverse=True)
        values = np.array([getattr(self.by_id[int(i)], attribute) for i in unique])
        return values[inverse.reshape(-1)]


def _lookup(lookup: Mapping[object, int], ref: object) -> int:
    """The id ``ref`` stands for in ``lookup``, -1 if none (a float only when whole)."""
    if isinstance(ref, bool):
        return -1
    if isinstance(ref, float):
        if not ref.is_integer():
            return -1
        ref = int(ref)
    return lookup.get(ref, -1)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _results(raw: pd.Series) -> np.ndarray:
    """Results as floats; NaN where the value is not a number (text and booleans included)."""
    if raw.dtype.kind in "fiu":  # numbers only (pandas found no text, boolean or None)
        # a copy: to_numpy may give a read-only view of the frame's block, written below
        numbers = raw.to_numpy(dtype=float, copy=True)
    else:
        values = raw.to_numpy(dtype=object)
        numbers = np.full(len(values), np.nan)
        for i, value in enumerate(values):
            if _is_number(value):
                try:
                    numbers[i] = float(value)
                except OverflowError:  # an integer beyond the range of a float
                    pass
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


#: Which characters of ``YYYY-MM-DDTHH:MM:SS`` are digits; the others are these separators.
_DIGITS = np.array([i not in (4, 7, 10, 13, 16) for i in range(19)])
_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}


def _utc_micros(text: list[str]) -> np.ndarray | None:
    """Microseconds since 1970 of times all written ``YYYY-MM-DDTHH:MM:SS[.f…]Z``, else None.

    The fast path for machine-written batches: the shape is checked character by character
    (none or 1 to 6 decimals of a second), then numpy parses the times without the ``Z`` (it
    checks the range of each field and refuses the whole array if one is wrong). Anything else
    is left to the general path (None), which names the unreadable rows.
    """
    chars = np.array(text, dtype=str)
    width = chars.dtype.itemsize // 4
    if not len(chars) or not 20 <= width <= 27:
        return None
    codes = chars.view(np.uint32).reshape(len(chars), width)
    length = (codes != 0).sum(axis=1)
    if int(length.sum()) != sum(map(len, text)):  # a NUL character (numpy drops trailing ones)
        return None
    last = codes[np.arange(len(codes)), length - 1]
    fraction = length > 20
    ok = ((length == 20) | (length >= 22)) & (last == ord("Z"))
    ok &= ~fraction | (codes[:, 19] == ord("."))
    digits = codes[:, :19][:, _DIGITS]
    ok &= ((digits >= ord("0")) & (digits <= ord("9"))).all(axis=1)
    for position, separator in _SEPARATORS.items():
        ok &= codes[:, position] == ord(separator)
    if width > 20:
        decimals = codes[:, 20:]
        inside = np.arange(20, width)[None, :] < (length - 1)[:, None]
        ok &= (~inside | ((decimals >= ord("0")) & (decimals <= ord("9")))).all(axis=1)
    if not ok.all():
        return None
    try:
        stamps = np.char.rstrip(chars, "Z").astype("datetime64[us]")
    except ValueError:  # a field out of range (month 13, 25 o'clock …)
        return None
    return stamps.astype(np.int64)


def _times(raw: pd.Series) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Times in UTC, a mask of the readable ones and a mask of those outside the store's range.

    Readable: ISO 8601 text with a UTC offset, in the store's range.
    """
    n = len(raw)
    if n and pd.api.types.infer_dtype(raw, skipna=False) == "string":
        micros = _utc_micros(raw.tolist())
        lowest, highest = FIRST_TIME.value // 1000, LAST_TIME.value // 1000
        if micros is not None and ((micros >= lowest) & (micros <= highest)).all():
            fast = pd.DatetimeIndex(pd.to_datetime(micros, unit="us", utc=True))
            return fast, np.ones(n, bool), np.zeros(n, bool)
    # ISO 8601 writes the offset Z in capitals; RFC 3339 allows a lower-case z too
    text = raw.astype("string").str.strip().str.replace(r"z$", "Z", regex=True)
    has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(bool)
    times = pd.to_datetime(text.where(has_offset), utc=True, format="ISO8601", errors="coerce")
    readable = has_offset & ~pd.isna(times)
    beyond = np.zeros(n, bool)
    for i in np.flatnonzero(has_offset & ~readable):  # rejected rows only: usually none
        beyond[i] = _outside_range(str(text.iloc[i]))
    return pd.DatetimeIndex(times), readable, beyond


def _outside_range(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 time with an offset that pandas cannot hold.

    In UTC, or as written: pandas reads the time as written before it applies the offset.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    try:
        utc = moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # in year 0 or 10000 in UTC
        return True
    return any(
        not FIRST_TIME.tz_localize(None) <= pd.Timestamp(t) <= LAST_TIME.tz_localize(None)
        for t in (utc, moment.replace(tzinfo=None))
    )


def as_text(payload: object) -> str:
    r"""A payload as text the store can keep.

    Text as it is, anything else (a parsed JSON row) as JSON; NUL characters and lone surrogates
    (which PostgreSQL refuses) escaped as in JSON (``\u0000``).
    """
    if payload is None or (isinstance(payload, float) and np.isnan(payload)):
        return ""
    text = (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    )
    if text.isascii():
        return text.replace("\x00", "\\u0000")
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def check_observations(
    frame: pd.DataFrame,
    index: DatastreamIndex,
    now: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split incoming observations into the accepted and the rejected.

    Parameters
    ----------
    frame
        One row per observation: ``datastream`` (id or name), ``phenomenon_time`` (ISO 8601 text
        with a UTC offset), ``result``; optional ``unit`` (``None`` or empty: not given) and
        ``payload`` (the raw row kept with a rejected value: text, or a parsed JSON row that is
        written as JSON only when rejected).
    index
        The datastreams of the store.
    now
        Receiving time (timezone-aware).
    future_tolerance
        How far past ``now`` a phenomenon time may be.

    Returns
    -------
    accepted : pandas.DataFrame
        ``position`` (row in ``frame``), ``datastream_id``, ``phenomenon_time`` (UTC),
        ``result``.
    rejected : pandas.DataFrame
        ``position``, ``datastream`` (the reference as given, as text), ``reason`` (one of
        :data:`REASONS`), ``detail`` (what was wrong and what is expected), ``payload``.
    """
    n = len(frame)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, why: str, text: np.ndarray | str) -> None:
        fresh = mask & (reason == "")
        reason[fresh] = why
        detail[fresh] = text[fresh] if isinstance(text, np.ndarray) else text

    for column in ("datastream", "phenomenon_time", "result"):
        if column not in frame:
            reject(np.ones(n, bool), "malformed", f"missing field {column}")
    empty = pd.Series([None] * n, index=frame.index, dtype=object)
    refs = frame["datastream"] if "datastream" in frame else empty
    raw_time = frame["phenomenon_time"] if "phenomenon_time" in frame else empty
    raw_result = frame["result"] if "result" in frame else empty
    reject(refs.isna().to_numpy(), "malformed", "missing field datastream")
    reject(raw_time.isna().to_numpy(), "malformed", "missing field phenomenonTime")
    times, readable, beyond = _times(raw_time)
    reject(beyond, "malformed", _BEYOND)
    reject(~readable, "malformed", _UNREADABLE)
    ids = index.resolve(refs)
    reject(ids < 0, "unknown_datastream", "no datastream with this id or name")
    results = _results(raw_result)
    reject(np.isnan(results), "not_a_number", "result: expected a finite number")
    limit = pd.Timestamp(now).tz_convert("UTC") + pd.Timedelta(future_tolerance)
    late = readable & (times > limit)
    reject(late, "future", f"phenomenonTime after the receiving time + {future_tolerance}")
    known = ids >= 0
    units = np.full(n, "", dtype=object)
    lows = np.full(n, -np.inf)
    highs = np.full(n, np.inf)
    if known.any():
        units[known] = index.column(ids[known], "unit")
        lows[known] = index.column(ids[known], "min_value")
        highs[known] = index.column(ids[known], "max_value")
    if "unit" in frame:
        given = frame["unit"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        wrong = known & (given != "") & (given != units)
        if wrong.any():
            messages = np.array(
                [
                    f"unit {g!r}, the datastream's unit is {u!r}"
                    for g, u in zip(given, units, strict=True)
                ],
                dtype=object,
            )
            reject(wrong, "wrong_unit", messages)
    with np.errstate(invalid="ignore"):
        outside = known & ~np.isnan(results) & ((results < lows) | (results > highs))
    if outside.any():
        messages = np.array(
            [
                f"result {r:g} outside [{lo:g}, {hi:g}]"
                for r, lo, hi in zip(results, lows, highs, strict=True)
            ],
            dtype=object,
        )
        reject(outside, "out_of_range", messages)
    ok = reason == ""
    positions = np.arange(n)
    accepted = pd.DataFrame(
        {
            "position": positions[ok],
            "datastream_id": ids[ok],
            "phenomenon_time": times[ok],
            "result": results[ok],
        }
    )
    bad = ~ok
    raw = (
        frame["payload"].to_numpy(dtype=object)[bad]
        if "payload" in frame
        else np.full(int(bad.sum()), "", dtype=object)
    )
    rejected = pd.DataFrame(
        {
            "position": positions[bad],
            "datastream": [as_text(r) for r in refs.to_numpy(dtype=object)[bad]],
            "reason": reason[bad],
            "detail": detail[bad],
            "payload": [as_text(p) for p in raw],
        }
    )
    return accepted, rejected
