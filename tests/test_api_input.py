"""Hostile input to the API (issue 15, items 4, 8–11 and 19): refused with 422, never a 500.

Each test sends the concrete inputs that gave server errors or were wrongly accepted, on SQLite
and on PostgreSQL (the ``client`` fixture runs on both; NUL characters failed on PostgreSQL
only), and checks that the refusal names the field.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from api_support import api_app, api_service, auth, client, tokens
from resilientcity.api.errors import MAX_ECHO_CHARS, MAX_ECHO_ITEMS, bounded
from resilientcity.api.input import json_problems

__all__ = ["api_app", "api_service", "client", "tokens"]

JSON = {"Content-Type": "application/json"}
#: A body for each route that takes one, ``{v}`` where a number goes (``people`` of a report is
#: an integer, so the report takes it as its longitude).
BODIES = {
    ("POST", "/api/incidents"): '{"category": "fire", "lon": {v}, "lat": 28.2}',
    ("PATCH", "/api/incidents/1"): '{"priority": {v}}',
    ("POST", "/api/scenarios"): '{"hazard": "river_flood", "stage_m": {v}}',
    ("POST", "/v1.1/Datastreams"): (
        '{"thing_id": 1, "observed_property": "x", "unit": "m", "min_value": 0, "max_value": {v}}'
    ),
    ("POST", "/v1.1/Things"): (
        '{"name": "T9", "kind": "gauge", "agency": "water_resources", "properties": {"v": {v}}}'
    ),
    ("PUT", "/api/rules/r9"): (
        '{"id": "r9", "observed_property": "river_stage", "unit": "m", '
        '"thresholds": {"blue": 1, "yellow": 2, "orange": 3, "red": {v}}}'
    ),
    ("POST", "/api/grants"): (
        '{"owner_agency": "water_resources", "grantee_agency": "emergency", "datastream_id": {v}}'
    ),
}
#: Where the number of each body is.
PLACES = {
    "/api/incidents": ["body", "lon"],
    "/api/incidents/1": ["body", "priority"],
    "/api/scenarios": ["body", "stage_m"],
    "/v1.1/Datastreams": ["body", "max_value"],
    "/v1.1/Things": ["body", "properties", "v"],
    "/api/rules/r9": ["body", "thresholds", "red"],
    "/api/grants": ["body", "datastream_id"],
}


def _send(http: Any, method: str, path: str, body: str, token: str) -> Any:
    return http.request(method, path, content=body.encode(), headers=auth(token) | JSON)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_numbers_in_any_json_body_are_refused_naming_the_field(
    client, tokens, number: str
) -> None:
    # item 8: FastAPI's 422 repeated the NaN and the JSON encoder failed (500)
    for (method, path), template in BODIES.items():
        response = _send(client, method, path, template.replace("{v}", number), tokens["admin"])
        assert response.status_code == 422, (path, response.text)
        (entry,) = response.json()["detail"]
        assert entry["loc"] == PLACES[path], path
        assert "finite number" in entry["msg"]


def test_nul_characters_in_text_and_query_parameters_are_refused_naming_them(
    client, tokens
) -> None:
    # item 9: PostgreSQL cannot store U+0000 (500); now 422 on both stores
    bodies = [
        (
            "POST",
            "/api/incidents",
            '{"category": "fire", "lon": 112.95, "lat": 28.2, "description": "water\\u0000"}',
            ["body", "description"],
        ),
        (
            "POST",
            "/v1.1/Datastreams",
            '{"thing_id": 1, "observed_property": "x", "unit": "m", '
            '"min_value": 0, "max_value": 1, "name": "a\\u0000"}',
            ["body", "name"],
        ),
        (
            "POST",
            "/v1.1/Datastreams",
            '{"thing_id": 1, "observed_property": "x", "unit": "m", '
            '"min_value": 0, "max_value": 1, "description": "\\u0000"}',
            ["body", "description"],
        ),
        (
            "POST",
            "/v1.1/Things",
            '{"name": "T\\u0000", "kind": "k", "agency": "water_resources"}',
            ["body", "name"],
        ),
        (
            "POST",
            "/v1.1/Things",
            '{"name": "T8", "kind": "k", "agency": "water_resources", '
            '"properties": {"a\\u0000": 1}}',
            ["body", "properties", "a\x00"],
        ),
        ("POST", "/api/tokens", '{"name": "a\\u0000", "role": "admin"}', ["body", "name"]),
    ]
    for method, path, body, loc in bodies:
        response = _send(client, method, path, body, tokens["admin"])
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == loc
        assert "NUL" in response.json()["detail"][0]["msg"]
    for path, loc in [
        ("/api/tasks?agency=water%00", ["query", "agency"]),
        ("/api/audit?user=a%00b", ["query", "user"]),
        ("/api/audit?action=%00", ["query", "action"]),
        ("/api/rules/r%001", ["path", "rule_id"]),
    ]:
        method = "DELETE" if path.startswith("/api/rules") else "GET"
        response = client.request(method, path, headers=auth(tokens["admin"]))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == loc


def test_a_refusal_repeats_a_bounded_part_of_the_input(client, tokens) -> None:
    # item 4: a 422 echoed the whole input back
    huge = {"category": "fire", "lon": 112.9, "lat": 28.2, "description": "x" * 100_000}
    response = client.post("/api/incidents", json=huge)
    assert response.status_code == 422
    (entry,) = response.json()["detail"]
    assert entry["loc"] == ["body", "description"]
    assert len(entry["input"]) == MAX_ECHO_CHARS + 1  # cut, and marked with "…"
    many = {"hazard": "typhoon", "track": [[1, 2, "x", 1, 2, 3]] * 500}
    response = client.post("/api/scenarios", json=many, headers=auth(tokens["admin"]))
    assert response.status_code == 422
    assert len(response.content) < 20_000, len(response.content)
    extra = client.post("/api/incidents", json={"category": "fire", "k" * 10_000: 1})
    assert extra.status_code == 422
    assert len(extra.content) < 5_000


def test_bounded_cuts_text_lists_and_depth_and_writes_non_finite_numbers_as_text() -> None:
    assert bounded([math.nan, math.inf, -math.inf, 1.5, 2**300, None, True]) == [
        "nan",
        "inf",
        "-inf",
        1.5,
        "an integer of 301 bits",
        None,
        True,
    ]
    assert bounded("y" * 1000) == "y" * MAX_ECHO_CHARS + "…"
    assert bounded(list(range(100))) == [*range(MAX_ECHO_ITEMS), "…"]
    assert bounded({"a": {"b": {"c": {"d": 1}}}}) == {"a": {"b": {"c": "…"}}}
    assert bounded("\ud800") == "\\ud800"  # a lone surrogate is not UTF-8
    assert bounded(b"\x00") == "b'\\x00'"


def test_json_problems_walk_any_depth_and_name_each_place() -> None:
    deep: Any = math.nan
    for _ in range(5000):
        deep = [deep]
    (entry,) = json_problems(deep)
    assert entry["loc"] == ["body", *[0] * 5000]
    found = json_problems({"a": [1, "x\x00", {"b": math.inf}], "c\ud800": 1})
    assert sorted(map(str, (e["loc"] for e in found))) == sorted(
        map(str, [["body", "a", 1], ["body", "a", 2, "b"], ["body", "c\\ud800"]])
    )
