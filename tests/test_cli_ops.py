"""The operations commands: ``ingest FILE.csv`` and ``token create|list|revoke``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli_runner import run_cli
from ops_support import free_port
from resilientcity.decision.plans import load_plans
from resilientcity.operations.access import authenticate
from resilientcity.operations.db import Database
from resilientcity.operations.ingest import datastream_index
from resilientcity.operations.models import AuditEntry, Observation, Quarantined
from resilientcity.operations.seed import seed_store
from resilientcity.warning import example_rules

STAGE = "RG002:river_stage"
BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)


def _at(minute: int) -> str:
    return (BASE + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def store(db_url: str, small_city) -> Iterator[str]:
    db = Database(db_url)
    db.upgrade()
    with db.write() as session:
        seed_store(session, small_city.sensors, example_rules(), load_plans())
    db.dispose()
    yield db_url


def _count(url: str, model: type) -> int:
    db = Database(url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(model)))
    finally:
        db.dispose()


def test_ingest_stores_a_file_once(store: str, tmp_path: Path, capsys):
    db = Database(store)
    with db.read() as session:
        stage_id = datastream_index(session).by_name[STAGE].id
    db.dispose()
    csv = tmp_path / "obs.csv"
    rows = [f"{STAGE},{_at(i)},{1 + i / 10},m" for i in range(5)]
    rows += [f"{stage_id},{_at(10 + i)},2.0," for i in range(3)]
    csv.write_text("datastream,phenomenon_time,result,unit,comment\n" + "\n".join(rows) + "\n")
    code, out, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "3"], capsys)
    assert code == 0, err
    assert "8 observations" in out and "8 stored, 0 duplicates, 0 rejected" in out
    assert _count(store, Observation) == 8
    code, out, _ = run_cli(["ingest", str(csv), "--db", store], capsys)
    assert code == 0 and "0 stored, 8 duplicates" in out
    assert _count(store, Observation) == 8


def test_ingest_names_the_bad_rows_by_line(store: str, tmp_path: Path, capsys):
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "datastream,phenomenon_time,result\n"
        f"{STAGE},{_at(0)},1.5\n"  # line 2: fine
        f"{STAGE},{_at(1)},1000\n"  # line 3: outside [0, 100]
        "\n"  # line 4: empty, skipped
        f"NOPE:river_stage,{_at(2)},1.0\n"  # line 5
        f"{STAGE},2026-07-01 08:00,1.0\n"  # line 6: no UTC offset
        f"{STAGE},{_at(3)},high\n"  # line 7
    )
    code, out, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "2"], capsys)
    assert code == 0, err
    assert "1 stored" in out and "4 rejected" in out
    assert "line 3: out_of_range" in out and "outside [0, 100]" in out
    assert "line 5: unknown_datastream (NOPE:river_stage)" in out
    assert "line 6: malformed" in out and "line 7: not_a_number" in out
    assert _count(store, Quarantined) == 4
    db = Database(store)
    with db.read() as session:
        payloads = set(session.scalars(select(Quarantined.payload)))
        audited = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == "csv")).all()
    db.dispose()
    assert f"{STAGE},{_at(1)},1000" in payloads
    assert len(audited) == 3 and {a.role for a in audited} == {"admin"}  # one per chunk


def test_ingest_fails_on_missing_columns_an_unreadable_file_or_an_empty_store(
    store: str, tmp_path: Path, capsys
):
    csv = tmp_path / "cols.csv"
    csv.write_text(f"datastream,time,value\n{STAGE},{_at(0)},1.0\n")
    code, _, err = run_cli(["ingest", str(csv), "--db", store], capsys)
    assert code == 1
    assert "phenomenon_time" in err and "result" in err and "found datastream, time, value" in err
    code, _, err = run_cli(["ingest", str(tmp_path / "absent.csv"), "--db", store], capsys)
    assert code == 1 and "cannot read" in err and "absent.csv" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run_cli(["ingest", str(empty), "--db", store], capsys)
    assert code == 1 and "cannot read" in err
    good = tmp_path / "good.csv"
    good.write_text(f"datastream,phenomenon_time,result\n{STAGE},{_at(0)},1.0\n")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, _, err = run_cli(["ingest", str(good), "--db", fresh], capsys)
    assert code == 1 and "no datastreams" in err and "resilientcity serve" in err


def test_token_create_list_revoke(store: str, capsys):
    code, out, err = run_cli(
        ["token", "create", "--role", "operator", "--agency", "water_resources", "--db", store],
        capsys,
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith("rc_") and "shown only this once" in err
    db = Database(store)
    with db.read() as session:
        principal = authenticate(session, token)
    assert principal is not None
    assert (principal.name, principal.role, principal.agency_id) == (
        "water_resources-operator",
        "operator",
        "water_resources",
    )
    code, out, _ = run_cli(
        ["token", "create", "--role", "analyst", "--label", "dash", "--expires-days", "1"]
        + ["--db", store],
        capsys,
    )
    assert code == 0
    code, out, _ = run_cli(["token", "list", "--db", store], capsys)
    assert code == 0
    assert token[:10] in out and token not in out
    assert "water_resources-operator" in out and "active" in out and "expires" in out
    code, out, _ = run_cli(["token", "revoke", "1", "--db", store], capsys)
    assert code == 0 and "revoked" in out
    with db.read() as session:
        assert authenticate(session, token) is None
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "api_token"))
        )
    db.dispose()
    assert actions == ["create", "create", "revoke"]
    code, out, _ = run_cli(["token", "list", "--db", store], capsys)
    assert "revoked" in out
    code, _, err = run_cli(["token", "revoke", "99", "--db", store], capsys)
    assert code == 1 and "token.id" in err


def test_token_create_explains_unknown_agencies_and_roles(store: str, tmp_path: Path, capsys):
    code, _, err = run_cli(
        ["token", "create", "--role", "operator", "--agency", "nasa", "--db", store], capsys
    )
    assert code == 1 and "water_resources" in err and "'nasa'" in err
    code, _, err = run_cli(["token", "create", "--role", "king", "--db", store], capsys)
    assert code == 1 and "one of admin" in err
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, _, err = run_cli(
        ["token", "create", "--role", "operator", "--agency", "water", "--db", fresh], capsys
    )
    assert code == 1 and "no agencies" in err


def test_serve_and_mqtt_ingest_refuse_a_bad_broker_address(tmp_path: Path, capsys):
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    for command in ("serve", "mqtt-ingest"):
        code, _, err = run_cli([command, "--mqtt", "broker:port", "--db", db], capsys)
        assert code == 1 and "HOST:PORT" in err and "'broker:port'" in err
    assert not (tmp_path / "ops.db").exists()  # refused before the store is touched


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["serve", "--port", "99999"], "--port: expected a port from 1 to 65535, found 99999"),
        (["serve", "--port", "0"], "--port: expected a port from 1 to 65535, found 0"),
        (["serve", "--port", "-1"], "--port: expected a port from 1 to 65535, found -1"),
        (["serve", "--mqtt", "broker:70000"], "--mqtt: expected HOST:PORT with a port from 1"),
        (["mqtt-ingest", "--mqtt", "broker:0"], "--mqtt: expected HOST:PORT with a port from 1"),
        (
            ["serve", "--db", "postgresql+psycopg://u@db:99999/ops"],
            "--db: expected a port from 1 to 65535, found 99999",
        ),
        (["token", "list", "--db", "postgresql://u@db:port/ops"], "--db: expected a URL"),
    ],
)
def test_ports_outside_1_to_65535_are_refused_in_one_line(
    args: list[str], named: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    monkeypatch.chdir(tmp_path)  # the default store would be created here
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server was started"))
    code, _, err = run_cli(args, capsys)
    assert code == 1
    assert _one_line(err).startswith(f"error: {named}")
    assert list(tmp_path.iterdir()) == []  # refused before any store is touched


def test_database_errors_are_one_line_naming_the_store(tmp_path: Path, capsys):

    missing = f"sqlite:///{tmp_path / 'absent' / 'ops.db'}"
    code, _, err = run_cli(["token", "list", "--db", missing], capsys)
    assert code == 1
    line = _one_line(err)
    assert f"the store {missing} cannot be used: unable to open database file" in line
    assert "OperationalError" not in line
    refused = f"postgresql+psycopg://postgres:secret@127.0.0.1:{free_port()}/test"
    code, _, err = run_cli(["token", "list", "--db", refused], capsys)
    assert code == 1
    line = _one_line(err)
    assert "the store postgresql+psycopg://postgres:***@127.0.0.1:" in line
    assert "Connection refused" in line and "secret" not in line


def test_serve_names_a_bad_twin_in_one_line_before_starting(
    tmp_path: Path, small_city, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server was started"))
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    absent = tmp_path / "absent.gpkg"
    code, _, err = run_cli(["serve", "--twin", str(absent), "--db", db], capsys)
    made_by = "made by `resilientcity twin import-osm` or `twin demo`"
    assert code == 1 and _one_line(err) == (
        f"error: --twin: no such file: {absent} (a twin GeoPackage, {made_by})"
    )
    code, _, err = run_cli(["serve", "--twin", str(tmp_path), "--db", db], capsys)
    assert code == 1 and _one_line(err) == (
        f"error: --twin: expected a twin GeoPackage (.gpkg, {made_by}), found a folder: {tmp_path}"
    )
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a GeoPackage")
    code, _, err = run_cli(["serve", "--twin", str(broken), "--db", db], capsys)
    assert code == 1 and _one_line(err).startswith("error: --twin: ")
    assert "broken.gpkg is not a readable GeoPackage" in _one_line(err)
    for workers in ("1", "2"):
        code, _, err = run_cli(
            ["serve", "--db", "sqlite:////nonexistent/folder/ops.db", "--workers", workers],
            capsys,
        )
        assert code == 1 and "unable to open database file" in _one_line(err)


def test_serve_names_an_unreachable_broker_in_one_line_before_starting(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server was started"))
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    for workers in ("1", "2"):
        code, _, err = run_cli(
            ["serve", "--db", db, "--mqtt", nobody, "--workers", workers], capsys
        )
        assert code == 1, err
        assert _one_line(err).startswith(f"error: cannot connect to the MQTT broker at {nobody}")


def test_serve_workers_get_the_settings_and_the_caller_keeps_its_environment(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    seen: dict[str, str | None] = {}

    def run(*args: object, **kwargs: object) -> None:  # the workers would start here
        seen.update({k: v for k, v in os.environ.items() if k.startswith("RESILIENTCITY_")})

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("RESILIENTCITY_SSE_POLL_S", "2.5")  # the caller's own setting
    before = {k: v for k, v in os.environ.items() if k.startswith("RESILIENTCITY_")}
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    code, _, err = run_cli(["serve", "--db", db, "--workers", "2", "--no-seed"], capsys)
    assert code == 0, err
    assert seen["RESILIENTCITY_DB_URL"] == db and seen["RESILIENTCITY_SSE_POLL_S"] == "2.5"
    assert "RESILIENTCITY_MQTT" not in seen  # no broker: the variable is not set for the workers
    assert {k: v for k, v in os.environ.items() if k.startswith("RESILIENTCITY_")} == before


def _stage_rows(start: int, count: int) -> str:
    return "".join(f"{STAGE},{_at(start + i)},{1 + i / 10}\n" for i in range(count))


def test_ingest_that_fails_part_way_says_exactly_which_lines_were_stored(
    store: str, tmp_path: Path, capsys
):
    csv = tmp_path / "obs.csv"
    header = "datastream,phenomenon_time,result\n"
    # lines 2-7 read in three chunks of two, then an unterminated quote on line 8
    csv.write_text(header + _stage_rows(0, 6) + f'{STAGE},"{_at(6)},1.0\n' + _stage_rows(7, 2))
    code, out, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "2"], capsys)
    assert code == 1 and out == ""
    line = _one_line(err)
    assert f"{csv}: the rows from line 8 on were not stored (cannot read" in line
    assert "EOF inside string" in line
    assert "lines 2 to 7 were committed before it (6 observations: 6 stored, 0 duplicates" in line
    assert "the same command again stores the rest" in line
    assert _count(store, Observation) == 6
    csv.write_text(header + _stage_rows(0, 9))  # the line mended: the rest is stored once
    code, out, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "2"], capsys)
    assert code == 0 and "3 stored, 6 duplicates" in out, err
    assert _count(store, Observation) == 9


def test_ingest_that_loses_the_store_part_way_names_the_store_and_the_lines(
    store: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    from sqlalchemy.exc import OperationalError

    from resilientcity.operations.service import Service

    real = Service.ingest
    calls = {"n": 0}

    def failing(self: Service, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Service, "ingest", failing)
    csv = tmp_path / "obs.csv"
    csv.write_text(
        "datastream,phenomenon_time,result\n" + _stage_rows(0, 3) + "\n" + _stage_rows(3, 4)
    )
    code, out, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "2"], capsys)
    assert code == 1 and out == ""
    line = _one_line(err)
    assert f"the rows from line 6 on were not stored (the store {store} cannot be used: " in line
    assert "server closed the connection" in line
    # the empty line 5 is read but is no observation
    assert "lines 2 to 5 were committed before it (3 observations: 3 stored" in line
    assert _count(store, Observation) == 3
    calls["n"] = 2
    code, _, err = run_cli(["ingest", str(csv), "--db", store, "--chunk", "10"], capsys)
    assert code == 1
    assert (
        "the rows from line 2 on were not stored" in err and "nothing of the file was stored" in err
    )
    assert _count(store, Observation) == 3


def test_serve_seeds_the_users_rules_and_names_a_bad_rule_file_before_starting(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    from resilientcity.operations.models import WarningRuleRow

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server was started"))
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    absent = tmp_path / "absent.yaml"
    code, _, err = run_cli(["serve", "--db", db, "--no-seed", "--rules", str(absent)], capsys)
    assert code == 1 and "absent.yaml" in _one_line(err), err
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    unit: m\n", encoding="utf-8")
    code, _, err = run_cli(["serve", "--db", db, "--no-seed", "--rules", str(bad)], capsys)
    assert code == 1 and "bad.yaml" in err and "observed_property" in err, err
    good = tmp_path / "rules.yaml"
    good.write_text(
        "rules:\n  - {id: stage, observed_property: river_stage, unit: m, "
        "thresholds: {yellow: 1.0}}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    code, _, err = run_cli(["serve", "--db", db, "--no-seed", "--rules", str(good)], capsys)
    assert code == 0, err
    assert _count(db, WarningRuleRow) == 1
