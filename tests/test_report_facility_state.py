"""The damage map and the recovery section show the same facilities down.

An earthquake gives fractional probabilities of functioning, so the per-hazard reading
(``p_functional < down_below``) and the network stage's one draw over the combined hazards
disagree on some facilities: the map must show the stage's state whenever the stage ran.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
import yaml

from cli_runner import run_cli
from resilientcity.critical import critical_facilities
from resilientcity.errors import ValidationError
from resilientcity.network.cascade import CascadeResult
from resilientcity.report.impact import damage_map_figure, facility_state, impact_section
from resilientcity.report.recovery import recovery_section
from resilientcity.scenario.config import scenario_from_dict
from resilientcity.scenario.run import ScenarioRun, run_scenario
from resilientcity.twin import City

#: An earthquake on the small demo city (fractional probabilities of functioning).
QUAKE: dict[str, Any] = {
    "name": "eq",
    "city": {"demo": "small"},
    "hazards": [
        {
            "kind": "earthquake",
            "magnitude": 6.5,
            "epicentre_lonlat": [113.10, 28.10],
            "realisations": 4,
            "seed": 3,
            "region": "china_turkey",
        }
    ],
    "recovery": {"days": 10},
}


@pytest.fixture(scope="module")
def quake(small_city: City) -> ScenarioRun:
    return run_scenario(scenario_from_dict(QUAKE), city=small_city)


def _cascade(run: ScenarioRun) -> CascadeResult:
    assert run.network is not None
    return run.network.cascade


def _map_down(fig: go.Figure) -> tuple[set[str], str]:
    """Asset ids of the map's 'facilities down' trace, and the facilities' legend title."""
    (trace,) = [t for t in fig.data if str(t.name).startswith("facilities down")]
    return {text.split(" (", 1)[0] for text in trace.text}, trace.legendgrouptitle.text


def _why_table_ids(section_html: str) -> set[str]:
    start = section_html.index("Critical facilities down at the moment of the event")
    table = section_html[start : section_html.index("</table>", start)]
    return set(re.findall(r'<th scope="row">([^ <]+)', table))


def test_the_two_readings_disagree_on_this_city(quake: ScenarioRun, small_city: City) -> None:
    # The precondition of the tests below: a facility up by its own hazard's reading is down
    # in the stage's draw (or the reverse).
    facility = (small_city.assets["kind"] != "building").to_numpy()
    threshold = quake.impacts[0].assets["p_functional"].to_numpy() < 0.5
    stage = ~_cascade(quake).functional
    assert np.any((threshold != stage) & facility)


def test_damage_map_shows_the_network_stage_like_the_recovery_section(
    quake: ScenarioRun, small_city: City
) -> None:
    cascade = _cascade(quake)
    fig = damage_map_figure(small_city, quake.impacts[0], cascade=cascade)
    down, title = _map_down(fig)
    ids = small_city.assets["asset_id"].to_numpy(dtype=str)
    facility = (small_city.assets["kind"] != "building").to_numpy()
    assert down == set(ids[facility & ~cascade.functional])
    assert "network stage" in title
    assert quake.network is not None
    listed = _why_table_ids(recovery_section(small_city, quake.network).html)
    kinds = small_city.assets.set_index("asset_id")["kind"]
    critical = set(critical_facilities().facility_kinds)
    assert listed and listed == {a for a in down if kinds[a] in critical}


def test_without_the_stage_the_map_says_it_reads_each_hazard(
    quake: ScenarioRun, small_city: City
) -> None:
    impact = quake.impacts[0]
    down, title = _map_down(damage_map_figure(small_city, impact))
    ids = small_city.assets["asset_id"].to_numpy(dtype=str)
    facility = (small_city.assets["kind"] != "building").to_numpy()
    below = impact.assets["p_functional"].to_numpy() < critical_facilities().down_below
    assert down == set(ids[facility & below])
    assert "this hazard" in title


def test_a_cascade_of_other_assets_is_refused(quake: ScenarioRun, small_city: City) -> None:
    frame = small_city.assets[["asset_id"]].iloc[::-1].reset_index(drop=True)
    frame = frame.assign(p_functional=1.0)
    with pytest.raises(ValidationError, match=r"cascade\.asset_id"):
        facility_state(frame, _cascade(quake))


def test_the_scenario_report_draws_the_stage_on_its_damage_map(
    quake: ScenarioRun, small_city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section = impact_section(small_city, quake.impacts, cascade=_cascade(quake))
    assert "network stage, all hazards" in section.html
    assert "% = down)" in impact_section(small_city, quake.impacts).html
    scenario = tmp_path / "eq.yaml"
    scenario.write_text(yaml.safe_dump(QUAKE), encoding="utf-8")
    code, out, _ = run_cli(["run", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert code == 0, out
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "network stage, all hazards" in page
    assert "% = down)" not in page
