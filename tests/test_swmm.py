"""Rainstorm hazard from a SWMM model: pyswmm run, node flooding, depth at assets."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from factories import tiny_layers
from resilientcity.errors import DataFileError, MissingDependency, ValidationError
from resilientcity.hazard.swmm import (
    node_flood_depth,
    read_swmm_nodes,
    run_swmm,
    swmm_flood_events,
)
from resilientcity.twin import City

#: A small network on the tiny city (EPSG:32649, 1 km square, 100 m DEM cells): a 20 ha
#: catchment drains to J1, whose 0.3 m pipe is far too small for a 120 mm/h burst, so J1
#: floods; J2, with a 1.5 m pipe to the outfall, does not. Coordinates go in {coordinates}.
INP = """\
[TITLE]
ResilientCity test network

[OPTIONS]
FLOW_UNITS           CMS
INFILTRATION         HORTON
FLOW_ROUTING         DYNWAVE
START_DATE           01/01/2024
START_TIME           00:00:00
REPORT_START_DATE    01/01/2024
REPORT_START_TIME    00:00:00
END_DATE             01/01/2024
END_TIME             03:00:00
REPORT_STEP          00:05:00
WET_STEP             00:01:00
DRY_STEP             01:00:00
ROUTING_STEP         0:00:05
ALLOW_PONDING        NO

[RAINGAGES]
;;Name  Format    Interval SCF Source
G1      INTENSITY 0:05     1.0 TIMESERIES storm

[SUBCATCHMENTS]
;;Name Gage Outlet Area %Imperv Width %Slope CurbLen
S1     G1   J1     20   80      400   1      0
S2     G1   J2     5    80      200   1      0

[SUBAREAS]
S1     0.013 0.1 1.5 5 25 OUTLET
S2     0.013 0.1 1.5 5 25 OUTLET

[INFILTRATION]
S1     50 5 4 7 0
S2     50 5 4 7 0

[JUNCTIONS]
;;Name Elevation MaxDepth InitDepth SurDepth Aponded
J1     30        2        0         0        {aponded}
J2     29        3        0         0        0

[OUTFALLS]
O1     27 FREE NO

[CONDUITS]
C1     J1 J2 300 0.013 0 0 0 0
C2     J2 O1 300 0.013 0 0 0 0

[XSECTIONS]
C1     CIRCULAR 0.3 0 0 0 1
C2     CIRCULAR 1.5 0 0 0 1

[TIMESERIES]
;;Name  Time  Value (mm/h)
storm   0:00  10
storm   0:30  120
storm   0:45  60
storm   1:00  0

[REPORT]
NODES ALL

[COORDINATES]
{coordinates}
"""

#: Node coordinates in the city's CRS: J1 in the hospital H1's DEM cell (row 5, col 5).
XY = {"J1": (510.0, 490.0), "J2": (150.0, 450.0), "O1": (150.0, 350.0)}


def write_inp(path: Path, xy: dict[str, tuple[float, float]] = XY, aponded: float = 0.0) -> Path:
    coordinates = "\n".join(f"{node} {x!r} {y!r}" for node, (x, y) in xy.items())
    path.write_text(INP.format(coordinates=coordinates, aponded=aponded), encoding="utf-8")
    return path


def report_flooding(report: Path) -> dict[str, float]:
    """Total flood volume (m³) per node from the Node Flooding Summary of SWMM's report."""
    text = report.read_text(encoding="utf-8")
    table = text.split("Node Flooding Summary", 1)[1].split("Summary", 1)[0]  # to the next table
    rows = re.findall(r"^\s+(\w+)\s+([\d.]+)\s+([\d.]+)\s+\d+\s+[\d:]+\s+([\d.]+)", table, re.M)
    return {node: float(volume) * 1000.0 for node, _, _, volume in rows}  # 10^6 L → m³


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The model and J1's flood volume (m³) as SWMM's own report gives it."""
    folder = tmp_path_factory.mktemp("swmm")
    inp = write_inp(folder / "net.inp")
    stats = run_swmm(inp, report_path=folder / "net.rpt")
    reported = report_flooding(folder / "net.rpt")
    assert set(reported) == {"J1"}  # only J1 floods
    volume = float(stats.set_index("node_id").loc["J1", "flood_volume_m3"])
    # SWMM prints 10^6 litres with three decimals: agreement to half a unit of the last digit
    assert abs(volume - reported["J1"]) <= 0.5 + 1e-9
    assert volume > 100
    return inp, volume


def test_run_swmm_statistics(flooded: tuple[Path, float], tmp_path: Path) -> None:
    inp, volume = flooded
    stats = run_swmm(inp)
    assert list(stats["node_id"]) == ["J1", "J2", "O1"]
    assert stats["flood_volume_m3"].tolist() == pytest.approx([volume, 0.0, 0.0])
    assert stats.loc[0, "flood_hours"] > 0 and stats.loc[1, "flood_hours"] == 0
    run_swmm(inp, report_path=tmp_path / "r.rpt")
    text = (tmp_path / "r.rpt").read_text(encoding="utf-8")
    # the continuity table's flooding loss (10^6 L) is the sum over nodes: here J1 alone
    loss = re.search(r"Flooding Loss \.+\s+[\d.]+\s+([\d.]+)", text)
    assert loss is not None and abs(float(loss.group(1)) * 1000 - volume) <= 0.5 + 1e-9


def test_flooded_node_depth_at_assets_by_hand(flooded: tuple[Path, float]) -> None:
    inp, volume = flooded
    city = City(**tiny_layers())  # type: ignore[arg-type]
    events = swmm_flood_events(inp, city)
    # default radius 50 m around (510, 490): the nearest cell centre, (550, 450), is
    # sqrt(40² + 40²) = 56.6 m away, so only J1's own cell (row 5, col 5, always included)
    # takes the water: depth = V / (100 m × 100 m), at the hospital H1 (500, 500) in that cell
    assert events.kind == "pluvial_flood" and list(events.event_ids) == ["swmm-net"]
    # B1 (100, 100) and S1 (900, 900), far from J1, get 0
    np.testing.assert_allclose(events.intensity.toarray(), [[0.0, volume / 1e4, 0.0]])
    assert events.frequency.tolist() == [0.0]


def test_ponded_area_sets_the_radius_and_volume_is_conserved(tmp_path: Path) -> None:
    # Aponded = π × (150 m)² → radius 150 m; J1 at the centre of cell (5, 5), (550, 450)
    inp = write_inp(tmp_path / "net.inp", {**XY, "J1": (550.0, 450.0)}, math.pi * 150.0**2)
    city = City(**tiny_layers())  # type: ignore[arg-type]
    nodes = read_swmm_nodes(inp)
    assert nodes["ponded_area_m2"].tolist() == pytest.approx([math.pi * 150.0**2, 0.0, 0.0])
    volume = float(run_swmm(inp).loc[0, "flood_volume_m3"])
    grid = node_flood_depth(
        city.dem,  # type: ignore[arg-type]
        np.array([550.0]),
        np.array([450.0]),
        np.array([volume]),
        np.array([150.0]),
    )
    # cells whose centre lies within 150 m: the centre, its 4 and its 4 diagonal neighbours
    # (141 m); the tiny DEM rises to the south-east, so the pool fills the north-west first
    assert (grid > 0).sum() <= 9 and grid[4, 4] >= grid[6, 6]
    assert grid.astype(np.float64).sum() * 1e4 == pytest.approx(volume, rel=1e-6)
    events = swmm_flood_events(inp, city, event_id="e", frequency=0.01)
    assert events.event_ids.tolist() == ["e"] and events.frequency.tolist() == [0.01]
    assert events.intensity.toarray()[0, 1] == pytest.approx(grid[5, 5])


def test_coordinates_in_another_crs(flooded: tuple[Path, float], tmp_path: Path) -> None:
    _, volume = flooded
    to_mercator = Transformer.from_crs("EPSG:32649", "EPSG:3857", always_xy=True)
    mercator = {node: to_mercator.transform(x, y) for node, (x, y) in XY.items()}
    inp = write_inp(tmp_path / "mercator.inp", mercator)
    city = City(**tiny_layers())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="crs=") as info:
        swmm_flood_events(inp, city)  # web-Mercator metres read as UTM: off the DEM
    assert set(info.value.problems[0].rows) == {"J1", "J2", "O1"}
    events = swmm_flood_events(inp, city, crs="EPSG:3857")
    assert events.intensity.toarray()[0, 1] == pytest.approx(volume / 1e4, rel=1e-6)


def test_nodes_off_the_city_or_without_coordinates(tmp_path: Path) -> None:
    city = City(**tiny_layers())  # type: ignore[arg-type]
    off = write_inp(tmp_path / "off.inp", {**XY, "J2": (5000.0, 450.0)})
    with pytest.raises(ValidationError) as info:
        swmm_flood_events(off, city)
    assert info.value.problems[0].rows == ("J2",)
    unplaced = write_inp(tmp_path / "unplaced.inp", {"J2": XY["J2"], "O1": XY["O1"]})
    with pytest.raises(ValidationError, match="COORDINATES") as info:
        swmm_flood_events(unplaced, city)
    assert info.value.problems[0].rows == ("J1",)


def test_bad_files(tmp_path: Path) -> None:
    city = City(**tiny_layers())  # type: ignore[arg-type]
    with pytest.raises(DataFileError, match="no such"):
        swmm_flood_events(tmp_path / "none.inp", city)
    with pytest.raises(DataFileError, match="no such"):
        run_swmm(tmp_path / "none.inp")
    (tmp_path / "text.inp").write_text("just some text\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="SECTION"):
        swmm_flood_events(tmp_path / "text.inp", city)
    broken = write_inp(tmp_path / "broken.inp")
    broken.write_text(broken.read_text().replace("S1     G1   J1", "S1     G9   J1"))
    with pytest.raises(DataFileError, match="ERROR 209"):  # undefined object (the rain gage)
        swmm_flood_events(broken, city)
    bad_xy = write_inp(tmp_path / "bad_xy.inp")
    bad_xy.write_text(bad_xy.read_text().replace("J1 510.0", "J1 east"))
    with pytest.raises(DataFileError, match="not a number"):
        read_swmm_nodes(bad_xy)


def test_bad_arguments(flooded: tuple[Path, float]) -> None:
    inp, _ = flooded
    city = City(**tiny_layers())  # type: ignore[arg-type]
    for radius in (0.0, -5.0, math.nan):
        with pytest.raises(ValidationError, match="radius_m"):
            swmm_flood_events(inp, city, radius_m=radius)
    with pytest.raises(ValidationError, match="frequency"):
        swmm_flood_events(inp, city, frequency=-1.0)
    no_dem = City(**(tiny_layers() | {"dem": None}))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="dem"):
        swmm_flood_events(inp, no_dem)


def test_missing_pyswmm(flooded: tuple[Path, float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyswmm", None)  # import pyswmm now raises ImportError
    with pytest.raises(MissingDependency, match="pip install"):
        run_swmm(flooded[0])
