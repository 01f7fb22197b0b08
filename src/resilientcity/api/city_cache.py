"""Values derived from a city twin, built once per city (and key) and kept for the next caller.

The service holds one twin, but tests and embedding applications build several applications
with different twins in one process; a :class:`CityCache` tells them apart by the twin object
itself (never by ``id(city)``, which a later twin may reuse) and keeps a bounded number of
entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from resilientcity.twin.city import City

__all__ = ["CityCache"]

T = TypeVar("T")


class CityCache(Generic[T]):
    """Values derived from a city and a key, built once; concurrent callers wait for the build.

    Parameters
    ----------
    size
        Entries kept at a time; the oldest is dropped to make room for a new one.

    Examples
    --------
    >>> cells = CityCache[int](size=4)
    >>> cells.get(city, lambda c: len(c.assets))  # doctest: +SKIP
    """

    def __init__(self, size: int = 4) -> None:
        if size < 1:
            raise ValueError(f"CityCache size must be at least 1, got {size}")
        self._size = size
        self._items: list[tuple[City, Hashable, T]] = []
        self._lock = threading.Lock()

    def get(self, city: City, build: Callable[[City], T], key: Hashable = None) -> T:
        """The value for ``city`` and ``key``, built by ``build(city)`` the first time.

        Parameters
        ----------
        city
            The twin the value derives from (matched by identity).
        build
            Builds the value from the twin; called under the cache's lock, so callers that
            want the same value wait instead of building it again.
        key
            What else the value depends on (a building limit, a run id); ``None`` by default.

        Returns
        -------
        T
            The cached or newly built value.
        """
        with self._lock:
            for known, known_key, value in self._items:
                if known is city and known_key == key:
                    return value
            value = build(city)
            if len(self._items) >= self._size:
                del self._items[0]
            self._items.append((city, key, value))
            return value

    def __len__(self) -> int:
        """How many entries the cache holds."""
        return len(self._items)
