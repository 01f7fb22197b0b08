"""Fuzzing the API: schemathesis against its OpenAPI schema, Hypothesis against CreateObservations.

No input may cause a server error (5xx); refusals (4xx) must say what is wrong. SQLite only,
one store for the whole module, so that the fuzzing stays within about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from resilientcity.api.app import create_app
from resilientcity.operations.access import create_token
from resilientcity.operations.service import Service, ServiceSettings

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, small_city: Any) -> Iterator[Any]:
    """The application on a seeded SQLite store, started, with an admin token on its state."""
    path = Path(tmp_path_factory.mktemp("fuzz")) / "ops.db"
    service = Service(ServiceSettings(db_url=f"sqlite:///{path}"))
    app = create_app(service=service, city=small_city)
    with TestClient(app) as client:
        with service.db.write() as session:
            token, row = create_token(session, "fuzzer", "admin")
        app.state.fuzz_token = token
        app.state.fuzz_token_id = row.id
        app.state.fuzz_client = client
        yield app
    service.db.dispose()


def _check(case: Any, app: Any) -> None:
    """Call ``case`` as the admin: no server error, and a refusal says why."""
    if case.path_parameters and case.path_parameters.get("token_id") == app.state.fuzz_token_id:
        case.path_parameters["token_id"] = app.state.fuzz_token_id + 10**6  # keep our token
    response = case.call_and_validate(
        headers=auth(app.state.fuzz_token), checks=[not_a_server_error]
    )
    if 400 <= response.status_code < 500:
        assert response.json()["detail"], response.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_causes_a_server_error(fuzz_app: Any, mode: GenerationMode) -> None:
    # Left out: the endless event stream (tested in test_api_warnings), and the endpoints that
    # start long computations on valid input — scenario runs and the resilience baseline
    # (seconds each; tested in test_api_web and test_scenario_jobs).
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    kept = schema.exclude(path="/api/warnings/stream").exclude(path="/api/resilience")
    kept = kept.exclude(method="POST", path="/api/scenarios")
    operations = [r.ok() for r in kept.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Any) -> None:
            _check(case, fuzz_app)

        try:
            fuzz()
        except Unsatisfiable:
            # an operation without inputs (GET /healthz) has no invalid requests to make
            assert mode == GenerationMode.NEGATIVE, operation.label


_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON libraries carry
_scalars = st.none() | st.booleans() | _ints | st.floats() | st.text(max_size=30)
_json = st.recursive(
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
    _json,
)


@st.composite
def _entity(draw: st.DrawFn) -> Any:
    components = draw(_components)
    row = st.lists(
        st.one_of(_times, st.floats(), _ints, st.sampled_from(["m", "mm", ""]), _json),
        min_size=len(components),
        max_size=len(components),
    )
    entity = {
        "Datastream": draw(_reference),
        "components": components,
        "dataArray": draw(st.lists(row | _json, max_size=6)),
    }
    if draw(st.booleans()):
        entity.pop(draw(st.sampled_from(sorted(entity))))
    return entity


_bodies = st.one_of(
    st.lists(_entity(), max_size=3).map(orjson.dumps),
    _json.map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)),
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
