"""The sensing API: things, datastreams, batch ingest, quarantine, paging, reach of operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from api_support import (
    OPERATOR_AGENCY,
    api_app,
    api_service,
    auth,
    client,
    observations,
    tokens,
)
from resilientcity.operations.models import Observation, Quarantined
from resilientcity.operations.service import Service

__all__ = ["api_app", "api_service", "client", "tokens"]

STAGE = "RG002:river_stage"  # water_resources
RAIN = "RN001:rainfall_1h"  # meteorology
UNDERPASS = "UP001:underpass_water_depth"  # transport


def _count(service: Service, model: Any = Observation) -> int:
    with service.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _id(client, tokens, name: str) -> int:
    page = client.get("/v1.1/Datastreams?$top=1000", headers=auth(tokens["admin"])).json()
    return next(d["@iot.id"] for d in page["value"] if d["name"] == name)


def test_batch_round_trip_is_idempotent(client, tokens, api_service):
    stage = _id(client, tokens, STAGE)
    body = [
        observations(stage, [30.0, 30.1, 30.2]),
        observations(RAIN, [0.0, 1.5]),
    ]
    first = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
    assert first.status_code == 201, first.text
    assert first.json() | {"warning_events": []} == {
        "received": 5,
        "stored": 5,
        "duplicates": 0,
        "rejected": {},
        "problems": [],
        "warning_events": [],
    }
    again = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
    assert again.status_code == 201
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 5)
    assert _count(api_service) == 5
    page = client.get(
        f"/v1.1/Datastreams({stage})/Observations", headers=auth(tokens["analyst"])
    ).json()
    assert [o["result"] for o in page["value"]] == [30.2, 30.1, 30.0]  # newest first
    assert page["value"][0]["phenomenonTime"] == "2026-07-01T00:20:00Z"
    single = client.post(
        "/v1.1/Observations",
        json={
            "Datastream": {"@iot.id": stage},
            "phenomenonTime": "2026-07-01T08:30:00+08:00",
            "result": 30.3,
            "unit": "m",
        },
        headers=auth(tokens["operator"]),
    )
    assert single.status_code == 201, single.text
    assert single.json()["stored"] == 1
    window = client.get(
        f"/v1.1/Datastreams({stage})/Observations",
        params={"start": "2026-07-01T00:10:00Z", "end": "2026-07-01T00:30:00Z"},
        headers=auth(tokens["admin"]),
    ).json()
    assert [o["result"] for o in window["value"]] == [30.2, 30.1]  # start ≤ t < end
    audit = client.get("/api/audit?action=ingest", headers=auth(tokens["admin"])).json()
    assert [a["user"] for a in audit] == [
        "test-operator-water_resources",
        "test-admin",
        "test-admin",
    ]


def test_each_rejected_value_is_quarantined_with_its_reason(client, tokens, api_service):
    stage = _id(client, tokens, STAGE)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    client.post(
        "/v1.1/CreateObservations",
        json=[observations(stage, [31.0])],
        headers=auth(tokens["admin"]),
    )
    body = [
        {
            "Datastream": {"@iot.id": stage},
            "components": ["result", "phenomenonTime", "unit"],
            "dataArray": [
                [31.5, "2026-07-01T00:00:00Z", "m"],  # conflict: 31.0 is stored
                ["high", "2026-07-01T01:00:00Z", "m"],  # not_a_number
                [31.0, future, "m"],  # future
                [31.0, "2026-07-01T02:00:00Z", "cm"],  # wrong_unit
                [310.0, "2026-07-01T03:00:00Z", "m"],  # out_of_range
                [31.0, "2026-07-01 04:00", "m"],  # malformed (no UTC offset)
                [31.0, "2026-07-01T05:00:00Z", None],  # accepted (no unit given)
            ],
        },
        observations("NO_SUCH:sensor", [1.0]),  # unknown_datastream
    ]
    response = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
    assert response.status_code == 201, response.text
    result = response.json()
    reasons = ["conflict", "not_a_number", "future", "wrong_unit", "out_of_range", "malformed"]
    assert result["stored"] == 1
    assert result["rejected"] == dict.fromkeys([*reasons, "unknown_datastream"], 1)
    places = {p["reason"]: (p["entity"], p["row"], p["index"]) for p in result["problems"]}
    assert places["wrong_unit"] == (0, 3, 3)
    assert places["unknown_datastream"] == (1, 0, 7)
    summary = client.get("/api/quarantine/summary", headers=auth(tokens["analyst"])).json()
    assert summary == {
        "total": 7,
        "by_reason": dict.fromkeys(sorted([*reasons, "unknown_datastream"]), 1),
    }
    wrong = client.get(
        "/api/quarantine", params={"reason": "wrong_unit"}, headers=auth(tokens["admin"])
    ).json()
    assert len(wrong) == 1
    assert wrong[0]["payload"] == '[31.0,"2026-07-01T02:00:00Z","cm"]'
    conflict = client.get(
        "/api/quarantine", params={"reason": "conflict"}, headers=auth(tokens["admin"])
    ).json()
    assert conflict[0]["payload"] == '[31.5,"2026-07-01T00:00:00Z","m"]'  # JSON, as sent
    assert "cm" in wrong[0]["detail"] and wrong[0]["source"] == "http"
    assert _count(api_service, Quarantined) == 7


MALFORMED: list[tuple[bytes | list[Any] | dict[str, Any], int, str]] = [
    (b'[{"Datastream": ', 400, "not JSON"),
    ({"Datastream": {"@iot.id": 2}}, 422, "a list of"),
    (
        [observations(2, [1.0]), {"Datastream": {"@iot.id": 2}, "components": []}],
        422,
        "'body', 1, 'dataArray'",
    ),
    (
        [{"Datastream": {"@iot.id": 2}, "components": ["result"], "dataArray": []}],
        422,
        "phenomenonTime",
    ),
    (
        [
            {
                "Datastream": {"@iot.id": "2"},
                "components": ["phenomenonTime", "result"],
                "dataArray": [],
            }
        ],
        422,
        "@iot.id",
    ),
    (
        [{"Datastream": 2, "components": ["phenomenonTime", "result"], "dataArray": []}],
        422,
        "Datastream",
    ),
    (
        [
            {
                "Datastream": {"@iot.id": 2},
                "components": ["phenomenonTime", "result"],
                "dataArray": [["2026-07-01T00:00:00Z", 1.0], ["2026-07-01T00:10:00Z", 1.0], ["x"]],
            }
        ],
        422,
        "'body', 0, 'dataArray', 2",
    ),
    (
        [
            {
                "Datastream": {"@iot.id": 2},
                "components": ["phenomenonTime", "result", "colour"],
                "dataArray": [],
            }
        ],
        422,
        "colour",
    ),
]


def test_malformed_bodies_are_refused_naming_the_place(client, tokens, api_service):
    for body, expected, named in MALFORMED:
        content = body if isinstance(body, bytes) else None
        response = client.post(
            "/v1.1/CreateObservations",
            content=content,
            json=None if content is not None else body,
            headers=auth(tokens["admin"]) | {"Content-Type": "application/json"},
        )
        assert response.status_code == expected, (body, response.text)
        assert named in str(response.json()["detail"]), (named, response.text)
    single = client.post(
        "/v1.1/Observations",
        json={"Datastream": {"@iot.id": 2}, "result": 1.0},
        headers=auth(tokens["admin"]),
    )
    assert single.status_code == 422 and "phenomenonTime" in single.text
    assert _count(api_service) == 0
    assert _count(api_service, Quarantined) == 0


def test_operator_cannot_write_to_another_agency(client, tokens, api_service):
    body = [observations(STAGE, [30.0]), observations(UNDERPASS, [0.2])]
    refused = client.post(
        "/v1.1/CreateObservations", json=body, headers=auth(tokens["operator:transport"])
    )
    assert refused.status_code == 403
    assert STAGE in refused.json()["detail"] and OPERATOR_AGENCY in refused.json()["detail"]
    assert _count(api_service) == 0
    own = client.post(
        "/v1.1/CreateObservations", json=body[1:], headers=auth(tokens["operator:transport"])
    )
    assert own.status_code == 201 and own.json()["stored"] == 1
    for role in ("analyst", "public"):
        assert (
            client.post(
                "/v1.1/CreateObservations", json=body, headers=auth(tokens[role])
            ).status_code
            == 403
        )
    assert client.post("/v1.1/CreateObservations", json=body).status_code == 401


def test_reading_another_agencys_datastream_needs_a_grant(client, tokens):
    stage = _id(client, tokens, STAGE)
    transport = auth(tokens["operator:transport"])
    path = f"/v1.1/Datastreams({stage})/Observations"
    refused = client.get(path, headers=transport)
    assert refused.status_code == 403
    assert "water_resources" in refused.json()["detail"] and "grant" in refused.json()["detail"]
    visible = client.get("/v1.1/Datastreams?$top=1000", headers=transport).json()
    assert {d["agency"] for d in visible["value"]} == {"transport"}
    grant = client.post(
        "/api/grants",
        json={
            "owner_agency": "water_resources",
            "grantee_agency": "transport",
            "datastream_id": stage,
        },
        headers=auth(tokens["operator"]),
    )
    assert grant.status_code == 201, grant.text
    assert client.get(path, headers=transport).status_code == 200
    assert client.get(f"/v1.1/Datastreams({stage})", headers=transport).status_code == 200
    write = client.post(
        "/v1.1/CreateObservations", json=[observations(stage, [30.0])], headers=transport
    )
    assert write.status_code == 403  # a grant shares reading, not writing
    revoked = client.delete(f"/api/grants/{grant.json()['id']}", headers=auth(tokens["operator"]))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get(path, headers=transport).status_code == 403


def test_paging_links_walk_every_thing_once(client, tokens):
    url: str | None = "/v1.1/Things?$top=10"
    seen: list[int] = []
    while url is not None:
        page = client.get(url, headers=auth(tokens["analyst"])).json()
        assert page["@iot.count"] == 35
        seen += [t["@iot.id"] for t in page["value"]]
        url = page.get("@iot.nextLink")
    assert len(seen) == len(set(seen)) == 35
    stage = _id(client, tokens, STAGE)
    client.post(
        "/v1.1/CreateObservations",
        json=[observations(stage, [30.0 + i / 100 for i in range(25)])],
        headers=auth(tokens["admin"]),
    )
    page = client.get(
        f"/v1.1/Datastreams({stage})/Observations?$top=10&$skip=20", headers=auth(tokens["admin"])
    ).json()
    assert len(page["value"]) == 5
    assert page["@iot.nextLink"] is None
    first = client.get(
        f"/v1.1/Datastreams({stage})/Observations?$top=10", headers=auth(tokens["admin"])
    ).json()
    assert "%24skip=10" in first["@iot.nextLink"]
    thing = client.get(page_thing := "/v1.1/Things(2)", headers=auth(tokens["operator"])).json()
    assert thing["@iot.selfLink"].endswith(page_thing)
    assert client.get("/v1.1/Things(2)", headers=auth(tokens["operator:power"])).status_code == 403
    assert client.get("/v1.1/Things(9999)", headers=auth(tokens["admin"])).status_code == 404


def test_admin_adds_things_and_datastreams_with_validation(client, tokens):
    admin = auth(tokens["admin"])
    thing = {
        "name": "RG900",
        "kind": "river_gauge",
        "agency": "water_resources",
        "location": {"type": "Point", "coordinates": [112.9, 28.2]},
    }
    created = client.post("/v1.1/Things", json=thing, headers=admin)
    assert created.status_code == 201, created.text
    thing_id = created.json()["@iot.id"]
    assert created.headers["Location"].endswith(f"/v1.1/Things({thing_id})")
    assert client.post("/v1.1/Things", json=thing, headers=admin).status_code == 409
    unknown = client.post(
        "/v1.1/Things", json=thing | {"name": "X1", "agency": "nobody"}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["Thing", "agency"]
    stream = {
        "thing_id": thing_id,
        "observed_property": "river_stage",
        "unit": "m",
        "min_value": 0.0,
        "max_value": 100.0,
    }
    for broken in ({"unit": ""}, {"min_value": 100.0}, {"observed_property": "River Stage"}):
        assert (
            client.post("/v1.1/Datastreams", json=stream | broken, headers=admin).status_code == 422
        )
    missing = client.post("/v1.1/Datastreams", json=stream | {"thing_id": 9999}, headers=admin)
    assert missing.status_code == 422 and "thing" in missing.text
    made = client.post("/v1.1/Datastreams", json=stream, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "RG900:river_stage"
    assert client.post("/v1.1/Datastreams", json=stream, headers=admin).status_code == 409
    ingest = client.post(
        "/v1.1/CreateObservations", json=[observations("RG900:river_stage", [12.0])], headers=admin
    )
    assert ingest.json()["stored"] == 1  # the new datastream is known at once
    assert (
        client.post("/v1.1/Things", json=thing, headers=auth(tokens["operator"])).status_code == 403
    )
    for query in ("start=2026-07-01T00:00:00", "$top=0", "$skip=-1", "end=yesterday"):
        response = client.get(f"/v1.1/Datastreams(2)/Observations?{query}", headers=admin)
        assert response.status_code == 422, query


def test_values_of_any_json_type_are_sorted_out_not_crashed_on(client, tokens, api_service):
    # the batch's columns are typed arrays only when every value has the type; the rest is
    # left to validation, row by row
    stage = _id(client, tokens, STAGE)
    rows = [
        [["2026-07-01T00:00:00Z"], 31.0],  # a list for a time: malformed
        ["2026-07-01T01:00:00Z", True],  # a boolean result: not_a_number
        ["2026-07-01T02:00:00Z", {"value": 31.0}],  # an object: not_a_number
        [None, 31.0],  # no time: malformed
        ["2026-07-01T03:00:00Z", 31],  # an integer result: stored
        ["2026-07-01T04:00:00.25Z", 31.5],  # stored
    ]
    body = [
        {
            "Datastream": {"@iot.id": stage},
            "components": ["phenomenonTime", "result"],
            "dataArray": rows,
        }
    ]
    response = client.post("/v1.1/CreateObservations", json=body, headers=auth(tokens["admin"]))
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["stored"] == 2
    assert result["rejected"] == {"malformed": 2, "not_a_number": 2}
    assert [p["row"] for p in result["problems"]] == [0, 1, 2, 3]
