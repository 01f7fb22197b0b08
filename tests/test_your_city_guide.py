"""docs/your-city.md works as written: its commands, run on pyrosm's Kouvola extract.

The guide's files (the blocks marked ``<!-- file: NAME -->``) are written into a folder, the DEM
and the population raster it names are made here (small GeoTIFFs over the extract, in the
Finnish national grid EPSG:3067 and in WGS 84), and every ``resilientcity`` command of its bash
blocks runs in order, in-process; ``serve`` runs as a process of its own until its page and
scenario options answer.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from cli_runner import run_cli
from ops_support import free_port
from resilientcity.twin.city import City
from test_kill_restart import Server, _command, servers  # noqa: F401 (the fixture)

pyrosm = pytest.importorskip("pyrosm")

GUIDE = Path(__file__).parents[1] / "docs" / "your-city.md"
#: Kouvola extract's centre (WGS 84) and its extent in EPSG:3067 with a margin, for the rasters.
CENTRE = (26.9517, 60.5310)


def guide_files(text: str) -> dict[str, str]:
    """The files of the guide: name → text of the block after ``<!-- file: NAME -->``."""
    found = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    return dict(found)


def guide_commands(text: str) -> list[list[str]]:
    """The ``resilientcity`` commands of the guide's bash blocks, in order, split as a shell."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("resilientcity "):
                commands.append(shlex.split(line)[1:])
    return commands


def _rasters(folder: Path) -> None:
    """dem.tif (25 m, EPSG:3067, a gentle slope with hollows) and pop.tif (30 people per cell)."""
    lon, lat = CENTRE
    to_tm = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
    x, y = to_tm.transform(lon, lat)
    n = 200  # 5 km square
    xx, yy = np.meshgrid(np.arange(n) * 25.0, np.arange(n) * 25.0)
    dem = (60 + 0.01 * xx + 3 * np.sin(xx / 300) * np.cos(yy / 400)).astype("float32")
    profile = {"driver": "GTiff", "count": 1, "dtype": "float32"}
    with rasterio.open(
        folder / "dem.tif",
        "w",
        width=n,
        height=n,
        crs="EPSG:3067",
        transform=Affine(25.0, 0.0, x - 2500, 0.0, -25.0, y + 2500),
        **profile,
    ) as out:
        out.write(dem, 1)
    res = 0.0015
    pop = np.full((26, 40), 30.0, dtype="float32")
    with rasterio.open(
        folder / "pop.tif",
        "w",
        width=40,
        height=26,
        crs="EPSG:4326",
        transform=Affine(res, 0.0, lon - 0.03, 0.0, -res, lat + 0.02),
        **profile,
    ) as out:
        out.write(pop, 1)


@pytest.fixture
def guide_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder with the guide's files and rasters, as the working directory."""
    text = GUIDE.read_text("utf-8")
    for name, body in guide_files(text).items():
        (tmp_path / name).write_text(body, "utf-8")
    _rasters(tmp_path)
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(here)


def test_the_guide_parses() -> None:
    text = GUIDE.read_text("utf-8")
    assert set(guide_files(text)) >= {"baseline.yaml", "quake.yaml", "rain.yaml", "storm.yaml"}
    verbs = [c[:2] for c in guide_commands(text)]
    assert ["twin", "import-osm"] in verbs and ["run", "quake.yaml"] in verbs
    assert verbs[-1] == ["serve", "--twin"]


def test_the_guide_runs_on_the_kouvola_extract(
    guide_folder: Path,
    capsys: pytest.CaptureFixture[str],
    servers: list[Server],  # noqa: F811
) -> None:
    extract = str(pyrosm.get_data("test_pbf"))
    commands = guide_commands(GUIDE.read_text("utf-8"))
    for argv in commands:
        argv = [extract if a == "$EXTRACT" else a for a in argv]
        if argv[0] == "serve":
            continue
        code, out, err = run_cli(argv, capsys)
        assert code == 0, f"{' '.join(argv)}\n{out}\n{err}"

    city = City.read("kouvola.gpkg")
    assert city.profile.id == "FI" and city.dem is not None
    assert city.metadata["population"]["unit"] == "count"
    assert {"hospital", "fire_station", "warehouse"} <= set(city.assets["kind"])
    assert list(city.sensors["sensor_id"]) == ["KV-R1"]

    def summary(name: str) -> dict:  # type: ignore[type-arg]
        return json.loads((guide_folder / f"out-{name}" / "summary.json").read_text("utf-8"))

    base = summary("baseline")
    # summary.json lists the profile and the importer's defaults the twin was built with
    assert base["city"]["region"]["id"] == "FI" and base["city"]["currency"] == "EUR"
    assert base["city"]["import_defaults"]["floor_area_per_resident_m2"] == 36.5
    assert base["resilience"]["robustness"] == 1.0 and base["resilience"]["loss"] == 0.0
    assert base["network"]["isolated_people"] == 0.0 and base["impact"]["total_loss"] == 0.0
    quake = summary("quake")
    assert quake["impact"]["total_loss"] > 0 and quake["impact"]["currency"] == "EUR"
    assert quake["decision"]["evacuated"] is not None
    assert "river_flood" not in json.dumps(quake["skipped"])
    rain = summary("rain")
    assert rain["impact"]["hazards"][0]["name"].startswith("100-year rainstorm, 360 min")
    assert rain["impact"]["event_sets"][0]["events"] == 4
    storm = summary("storm")
    assert storm["impact"]["hazards"][0]["kind"] == "wind"
    for name in ("quake", "rain", "storm"):  # recovery, decisions and assessment each time
        done = summary(name)
        assert done["resilience"] is not None and done["decision"]["evacuated"] is not None
        assert len(done["assessment"]["units"]) >= 2, name
    for name in ("baseline", "quake", "rain", "storm"):
        page = (guide_folder / f"out-{name}" / "report.html").read_text("utf-8")
        assert "Regional profile" in page and "OpenStreetMap contributors" in page
        # every default the import used, with its source (here the floor area per resident)
        assert "The importer&#x27;s defaults" in page or "The importer's defaults" in page
        assert "floor_area_per_resident_m2" in page and "population census" in page
        written = json.dumps(summary(name), ensure_ascii=False)
        for word in ("Changsha", "Xiang", "湘江", "长沙"):
            assert word not in page and word not in written, (name, word)

    serve = next(c for c in commands if c[0] == "serve")
    port = free_port()
    args = [a if a != "8000" else str(port) for a in serve]
    server = Server(_command(*args), guide_folder / "serve.log")
    servers.append(server)
    server.start()
    url = f"http://127.0.0.1:{port}"
    server.wait_ready(url)
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/").status_code == 200
        health = client.get("/healthz")
        assert health.status_code == 200, server.output()
    server.kill()
