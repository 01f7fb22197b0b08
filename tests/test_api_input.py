"""Hostile input to the API (issue 15, items 4, 8–11 and 19): refused with 422, never a 500.

Each test sends the concrete inputs that gave server errors or were wrongly accepted, on SQLite
and on PostgreSQL (the ``client`` fixture runs on both; NUL characters failed on PostgreSQL
only), and checks that the refusal names the field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from api_support import api_app, api_service, auth, client, observations, tokens
from resilientcity.api.errors import MAX_ECHO_CHARS, MAX_ECHO_ITEMS, bounded
from resilientcity.api.input import json_problems
from resilientcity.api.response import IncidentReport
from resilientcity.api.schemas import MAX_PROPERTIES_DEPTH
from resilientcity.errors import ValidationError
from resilientcity.operations.access import create_token
from resilientcity.operations.models import Quarantined
from resilientcity.operations.validation import (
    FIRST_TIME,
    LAST_TIME,
    DatastreamIndex,
    DatastreamInfo,
    as_text,
    check_observations,
)
from resilientcity.warning import WarningRule

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


def test_nul_in_an_observation_is_quarantined_with_the_nul_escaped(
    client, tokens, api_service
) -> None:
    # the ingest routes read their bodies themselves: a NUL goes to the quarantine, escaped
    body = [observations("RG\x00", [1.0]), observations("RG002:river_stage", ["a\x00"])]
    response = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
    assert response.status_code == 201, response.text
    assert response.json()["rejected"] == {"unknown_datastream": 1, "not_a_number": 1}
    with api_service.db.read() as session:
        kept = session.scalars(select(Quarantined).order_by(Quarantined.id)).all()
        assert [q.datastream for q in kept] == ["RG\\u0000", "RG002:river_stage"]
        assert all("\x00" not in q.payload for q in kept)


def test_deep_or_large_thing_properties_are_refused_and_things_stay_readable(
    client, tokens
) -> None:
    # item 10: 500 levels were stored, and GET /v1.1/Things gave 500 from then on
    h = auth(tokens["admin"])

    def nested(levels: int) -> dict[str, Any]:
        value: dict[str, Any] = {"leaf": 1}
        for _ in range(levels - 1):
            value = {"a": value}
        return value

    thing = {"kind": "gauge", "agency": "water_resources"}
    for i, properties in enumerate(
        [nested(500), nested(MAX_PROPERTIES_DEPTH + 1), {"t": "x" * 20_000}]
    ):
        response = client.post(
            "/v1.1/Things", json=thing | {"name": f"T{i}", "properties": properties}, headers=h
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "properties"]
        assert len(response.content) < 2_000  # the deep input is not echoed back
    kept = nested(MAX_PROPERTIES_DEPTH)
    created = client.post(
        "/v1.1/Things", json=thing | {"name": "T9", "properties": kept}, headers=h
    )
    assert created.status_code == 201, created.text
    listed = client.get("/v1.1/Things", params={"$top": 1000}, headers=h)
    assert listed.status_code == 200
    mine = [t for t in listed.json()["value"] if t["name"] == "T9"]
    assert mine[0]["properties"]["a"] == kept["a"]


def test_a_datastream_id_beyond_64_bits_is_an_unknown_datastream(client, tokens) -> None:
    # item 11: np.array(..., dtype=int64) overflowed on 2**63 (500)
    for ident in (2**63, 2**64 - 1, 2**31):
        body = [observations(ident, [1.0])]
        response = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
        assert response.status_code == 201, response.text
        assert response.json()["rejected"] == {"unknown_datastream": 1}
        assert response.json()["problems"][0]["datastream"] == str(ident)


@pytest.mark.parametrize("time", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00"])
def test_times_at_the_ends_of_the_calendar_in_queries_are_refused(
    client, tokens, time: str
) -> None:
    # item 11: in UTC they fall in year 0 or 10000, which Python cannot hold (500)
    h = auth(tokens["admin"])
    for path, name in [
        ("/v1.1/Datastreams(1)/Observations", "start"),
        ("/v1.1/Datastreams(1)/Observations", "end"),
        ("/api/incidents", "since"),
        ("/api/warnings", "since"),
    ]:
        response = client.get(path, params={name: time}, headers=h)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", name]
        assert "years 1 and 9999" in response.json()["detail"][0]["msg"]


def test_since_is_read_alike_by_incidents_and_warnings(client, tokens) -> None:
    # item 19: incidents took a time without offset as UTC, warnings refused it
    h = auth(tokens["admin"])
    for path in ("/api/incidents", "/api/warnings"):
        naive = client.get(path, params={"since": "2026-07-01T08:00:00"}, headers=h)
        assert naive.status_code == 422, path
        assert naive.json()["detail"][0]["type"] == "timezone_aware"
        for time in ("2026-07-01T08:00:00Z", "2026-07-01T16:00:00+08:00"):
            assert client.get(path, params={"since": time}, headers=h).status_code == 200


def test_people_and_coordinates_must_be_json_numbers(client, tokens) -> None:
    # item 19: "people": true was taken as 1 and "lon": "112.95" as a number
    report = {"category": "fire", "lon": 112.95, "lat": 28.2, "people": 2}
    for field, value in [("people", True), ("people", 2.0), ("lon", "112.95"), ("lat", True)]:
        response = client.post("/api/incidents", json=report | {field: value})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field]
    stream = {
        "thing_id": "1",
        "observed_property": "x",
        "unit": "m",
        "min_value": 0,
        "max_value": 1,
    }
    response = client.post("/v1.1/Datastreams", json=stream, headers=auth(tokens["admin"]))
    assert response.json()["detail"][0]["loc"] == ["body", "thing_id"]
    assert client.post("/api/incidents", json=report).status_code == 201
    assert IncidentReport.model_validate(report | {"lon": 113}).lon == 113.0  # a JSON number


def test_an_already_expired_token_is_refused(client, tokens, api_service) -> None:
    # item 19: an admin could create a token that never worked
    h = auth(tokens["admin"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = client.post(
        "/api/tokens", json={"name": "late", "role": "analyst", "expires_at": past}, headers=h
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["token", "expires_at"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    ok = client.post(
        "/api/tokens", json={"name": "soon", "role": "analyst", "expires_at": future}, headers=h
    )
    assert ok.status_code == 201, ok.text
    now = datetime(2026, 7, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="expires_at"), api_service.db.write() as session:
        create_token(session, "cli", "analyst", expires_at=now, now=now)


def test_a_rule_watches_an_observed_property_named_as_datastreams_name_them(client, tokens) -> None:
    # item 19: a rule for "Any Text!" was stored and could never match a datastream
    rule = {"id": "r9", "unit": "m", "thresholds": {"blue": 1, "yellow": 2, "orange": 3, "red": 4}}
    for prop in ("Any Text!", "River_Stage", "", "river stage"):
        with pytest.raises(PydanticError):
            WarningRule.model_validate(rule | {"observed_property": prop})
        response = client.put(
            "/api/rules/r9", json=rule | {"observed_property": prop}, headers=auth(tokens["admin"])
        )
        assert response.status_code == 422, prop
        assert response.json()["detail"][0]["loc"] == ["body", "observed_property"]
    good = client.put(
        "/api/rules/r9",
        json=rule | {"observed_property": "river_stage"},
        headers=auth(tokens["admin"]),
    )
    assert good.status_code == 201, good.text


def test_a_refusal_repeats_a_bounded_part_of_the_input(client, tokens) -> None:
    # item 4: a 422 echoed the whole input back
    huge = {"category": "fire", "lon": 112.9, "lat": 28.2, "description": "x" * 10_000}
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


# --- Validation of observations (pure) --------------------------------------------------------

INDEX = DatastreamIndex([DatastreamInfo(1, "a:stage", "river_stage", "m", 0.0, 100.0, "water")])
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _check(times: list[Any], results: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(
        {"datastream": 1, "phenomenon_time": times, "result": pd.Series(results, dtype=object)}
    )
    return check_observations(frame, INDEX, NOW)


def test_a_text_result_is_not_a_number() -> None:
    # item 19: "30.5" was stored, though the documentation calls text not_a_number
    accepted, rejected = _check(["2026-07-01T08:00:00Z"] * 4, ["30.5", 30.5, 30, True])
    assert accepted["position"].tolist() == [1, 2]
    assert rejected[["position", "reason"]].values.tolist() == [
        [0, "not_a_number"],
        [3, "not_a_number"],
    ]


def test_a_lower_case_z_offset_reads_as_utc() -> None:
    # item 19: RFC 3339 allows "z"; it was refused as malformed
    accepted, rejected = _check(["2026-07-01T08:00:00z", "2026-07-01T08:10:00.5z "], [1.0, 2.0])
    assert rejected.empty, rejected["detail"].tolist()
    assert accepted["phenomenon_time"].tolist() == [
        pd.Timestamp("2026-07-01T08:00:00Z"),
        pd.Timestamp("2026-07-01T08:10:00.5Z"),
    ]


@pytest.mark.parametrize(
    "times",
    [
        ["1600-07-01T00:00:00Z"],  # the fast path of "…Z" times
        ["2300-07-01T00:00:00Z", "2026-07-01T08:00:00+08:00"],
        ["1677-09-21T00:00:00+00:00", "2262-04-12T08:00:00+08:00"],
        ["0001-01-01T00:00:00+14:00"],
    ],
)
def test_times_outside_the_stored_range_say_so(times: list[str]) -> None:
    # item 19: they were "malformed: expected an ISO 8601 time with a UTC offset"
    accepted, rejected = _check(times, [1.0] * len(times))
    beyond = [t for t in times if not t.startswith("2026")]
    assert len(rejected) == len(beyond)
    assert (rejected["reason"] == "malformed").all()
    assert rejected["detail"].str.contains(f"{FIRST_TIME:%Y-%m-%d}").all()
    assert rejected["detail"].str.contains(f"{LAST_TIME:%Y-%m-%d}").all()
    assert len(accepted) == len(times) - len(beyond)


def test_stored_text_has_no_nul_characters_or_lone_surrogates() -> None:
    assert as_text("RG\x00") == "RG\\u0000"
    assert as_text(["2026", "a\x00\ud800"]) == '["2026","a\\u0000\\ud800"]'
    assert as_text("水位") == "水位"
