"""Fuzzing the API: schemathesis against its OpenAPI schema, Hypothesis against CreateObservations.

No input may cause a server error (5xx); refusals (4xx) must say what is wrong. The inputs that
once gave 500s (issue 15) are allowed: schemathesis generates text with NUL characters (its
``allow_x00``, any UTF-8 character: ``codec``), and since it never generates ``NaN``,
``Infinity``, numbers beyond a double or integers beyond 64 bits, half of its cases get one such
value (or calendar-edge times, or NUL text) put into the body, a query or a path parameter,
sent as JSON with ``NaN``/``Infinity`` literals. Once on SQLite and once on PostgreSQL, one
store per backend for the whole module, so that the fuzzing stays within about two minutes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api_support import TestClient, auth
from ops_support import postgres_database
from resilientcity.api.app import create_app
from resilientcity.operations.access import create_token
from resilientcity.operations.service import Service, ServiceSettings

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, small_city: Any
) -> Iterator[Any]:
    """The application on a seeded store, started, with an admin token on its state."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'ops.db'}"
        else:
            url = stack.enter_context(postgres_database())
        service = Service(ServiceSettings(db_url=url))
        stack.callback(service.db.dispose)
        app = create_app(service=service, city=small_city)
        with TestClient(app) as client:
            with service.db.write() as session:
                token, row = create_token(session, "fuzzer", "admin")
            app.state.fuzz_token = token
            app.state.fuzz_token_id = row.id
            app.state.fuzz_client = client
            yield app


#: Stands for the JSON number 1e309 (a double overflows: Python's json reads it as infinity).
_OVERFLOW = "__1e309__"
#: Values put into a body: non-finite and overflowing numbers, integers beyond 64 bits, NUL.
_HOSTILE = st.sampled_from(
    [math.nan, math.inf, -math.inf, _OVERFLOW, 2**63, 2**64, -(2**63) - 1, 10**30, "\x00", "a\x00b"]
)
#: Values put into a query or path parameter (text), calendar-edge times included.
_HOSTILE_TEXT = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e309",
        str(2**63),
        str(2**64),
        "\x00",
        "a\x00b",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999-14:00",
    ]
)


def _places(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside ``value``, containers included."""
    places, stack = [], [value]
    while stack:
        item = stack.pop()
        keys = list(item) if isinstance(item, dict) else range(len(item))
        for key in keys:
            places.append((item, key))
            if isinstance(item[key], (dict, list)):
                stack.append(item[key])
    return places


def _poison(data: st.DataObject, case: Any) -> None:
    """Put one hostile value into the body, a query parameter or a path parameter of ``case``
    (or leave it as generated, half of the time)."""
    targets = [name for name in ("query", "path_parameters") if getattr(case, name)]
    if isinstance(case.body, (dict, list)):
        targets.append("body")
    if not targets or data.draw(st.booleans(), label="as generated"):
        return
    target = data.draw(st.sampled_from(targets), label="poisoned")
    if target == "body":
        places = _places(case.body)
        if not places:
            case.body = data.draw(_HOSTILE)
            return
        container, key = data.draw(st.sampled_from(places), label="at")
        container[key] = data.draw(_HOSTILE, label="value")
    else:
        parameters = getattr(case, target)
        parameters[data.draw(st.sampled_from(sorted(parameters)))] = data.draw(_HOSTILE_TEXT)


def _json(body: Any) -> bytes:
    """``body`` as JSON with NaN and Infinity literals and 1e309 (which clients do not write)."""
    return json.dumps(body).replace(f'"{_OVERFLOW}"', "1e309").encode()


def _check(case: Any, app: Any) -> None:
    """Call ``case`` as the admin: no server error, and a refusal says why."""
    if case.path_parameters and case.path_parameters.get("token_id") == app.state.fuzz_token_id:
        case.path_parameters["token_id"] = app.state.fuzz_token_id + 10**6  # keep our token
    sent: dict[str, Any] = {}
    if isinstance(case.body, (dict, list, float, int, str)) and "json" in (case.media_type or ""):
        sent["data"] = _json(case.body)
    response = case.call_and_validate(
        headers=auth(app.state.fuzz_token), checks=[not_a_server_error], **sent
    )
    if 400 <= response.status_code < 500:
        assert response.json()["detail"], response.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_causes_a_server_error(fuzz_app: Any, mode: GenerationMode) -> None:
    # Left out: the endless event stream (tested in test_api_warnings), and the endpoints that
    # start long computations on valid input — scenario runs and the resilience baseline
    # (seconds each; tested in test_api_web and test_scenario_jobs).
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    schema.config.generation.update(allow_x00=True, codec="utf-8")
    kept = schema.exclude(path="/api/warnings/stream").exclude(path="/api/resilience")
    kept = kept.exclude(method="POST", path="/api/scenarios")
    operations = [r.ok() for r in kept.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def fuzz(case: Any, data: st.DataObject) -> None:
            _poison(data, case)
            _check(case, fuzz_app)

        try:
            fuzz()
        except Unsatisfiable:
            # an operation without inputs (GET /healthz) has no invalid requests to make
            assert mode == GenerationMode.NEGATIVE, operation.label


_ints = st.integers(min_value=-(2**64), max_value=2**64)  # a little beyond 64 bits too
_scalars = st.none() | st.booleans() | _ints | st.floats() | st.text(max_size=30)
_json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_times = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.text(max_size=25),
    _ints,
)
_components = st.one_of(
    st.just(["phenomenonTime", "result"]),
    st.just(["result", "phenomenonTime", "unit"]),
    st.lists(st.sampled_from(["phenomenonTime", "result", "unit", "resultTime"]), max_size=4),
)
_reference = st.one_of(
    st.fixed_dictionaries({"@iot.id": st.integers(min_value=-5, max_value=80)}),
    st.fixed_dictionaries(
        {"name": st.sampled_from(["RG002:river_stage", "RN001:rainfall_1h", "x"])}
    ),
    _json_values,
)


@st.composite
def _entity(draw: st.DrawFn) -> Any:
    components = draw(_components)
    row = st.lists(
        st.one_of(_times, st.floats(), _ints, st.sampled_from(["m", "mm", ""]), _json_values),
        min_size=len(components),
        max_size=len(components),
    )
    entity = {
        "Datastream": draw(_reference),
        "components": components,
        "dataArray": draw(st.lists(row | _json_values, max_size=6)),
    }
    if draw(st.booleans()):
        entity.pop(draw(st.sampled_from(sorted(entity))))
    return entity


def _dumps(value: Any) -> bytes:
    """``value`` as JSON; integers beyond 64 bits (which orjson refuses) as Python writes them."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def _literal_body(literal: str, where: str) -> bytes:
    """A CreateObservations body with ``literal`` (``NaN`` …) as its id, time or result."""
    ident = literal if where == "id" else "1"
    time = literal if where == "time" else '"2026-07-01T00:00:00Z"'
    result = literal if where == "result" else "1.0"
    return (
        f'[{{"Datastream": {{"@iot.id": {ident}}}, "components": ["phenomenonTime", "result"], '
        f'"dataArray": [[{time}, {result}]]}}]'
    ).encode()


_bodies = st.one_of(
    st.lists(_entity(), max_size=3).map(_dumps),
    _json_values.map(_dumps),
    # NaN, Infinity and 1e309 where a result, a time or an id is expected (orjson never writes them)
    st.builds(
        _literal_body,
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e309", str(2**63), str(2**64)]),
        st.sampled_from(["result", "time", "id"]),
    ),
    st.binary(max_size=40),
)


@FUZZ
@given(body=_bodies)
def test_create_observations_never_fails_on_any_body(fuzz_app: Any, body: bytes) -> None:
    client = fuzz_app.state.fuzz_client
    response = client.post(
        "/v1.1/CreateObservations",
        content=body,
        headers=auth(fuzz_app.state.fuzz_token) | {"Content-Type": "application/json"},
    )
    assert response.status_code in (201, 400, 413, 422), response.text
    if response.status_code == 201:
        result = response.json()
        assert result["received"] == result["stored"] + result["duplicates"] + sum(
            result["rejected"].values()
        )
        assert all(p["detail"] and p["reason"] for p in result["problems"])
    else:
        detail = response.json()["detail"]
        assert detail if isinstance(detail, str) else all(d["msg"] and d["loc"] for d in detail)
