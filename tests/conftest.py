"""Shared fixtures: a tiny hand-made city (fast, every layer) and the small demo city."""

from __future__ import annotations

import pytest

import resilientcity as rc
from factories import tiny_layers
from resilientcity.twin import City


@pytest.fixture
def tiny_city() -> City:
    return City(**tiny_layers())  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small_city() -> City:
    return rc.demo_city("small")


pytest_plugins = ["ops_support"]
