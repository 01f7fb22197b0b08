"""The pandapower adapter on pandapower's own MV Oberrhein grid, checked against pandapower."""

from __future__ import annotations

import copy
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from resilientcity.errors import MissingDependency, ValidationError
from resilientcity.network.power_grid import PowerGridModel, grid_outage

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")
top = pytest.importorskip("pandapower.topology")

# pandapower 3.5 (third party) uses pandas APIs that pandas 3 deprecates (Pandas4Warning).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pandapower"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pandapower"),
]

#: People behind each load in the generated twin: 10 per load, by load index order.
PEOPLE_PER_LOAD = 10.0


@pytest.fixture(scope="module")
def oberrhein() -> Any:
    return pn.mv_oberrhein()


def _twin(net: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A generated mapping (one asset per load, line, trafo, ext_grid) and its assets frame."""
    rows = [
        (f"{el}{i}", el, int(i))
        for el in ("load", "line", "trafo", "ext_grid")
        for i in net[el].index
    ]
    mapping = pd.DataFrame(rows, columns=["asset_id", "element", "index"])
    is_load = (mapping["element"] == "load").to_numpy()
    assets = pd.DataFrame(
        {
            "asset_id": mapping["asset_id"],
            "kind": np.where(is_load, "building", "feeder"),
            "occupants": np.where(is_load, PEOPLE_PER_LOAD, 0.0),
            "zone_id": np.where(is_load, "Z1", ""),
        }
    )
    extra = pd.DataFrame(
        {
            "asset_id": ["S9", "B9"],
            "kind": ["substation", "building"],
            "occupants": [0.0, 5.0],
            "zone_id": ["", "Z1"],
        }
    )
    return mapping, pd.concat([assets, extra], ignore_index=True)


@pytest.fixture(scope="module")
def model(oberrhein: Any) -> PowerGridModel:
    mapping, assets = _twin(oberrhein)
    return PowerGridModel(oberrhein, mapping, assets)


def _pandapower_unsupplied(net: Any, element: str, index: int) -> set[int]:
    """pandapower's own answer: the element out of service, then its topology search."""
    own = copy.deepcopy(net)
    own[element].loc[index, "in_service"] = False
    return {int(b) for b in top.unsupplied_buses(own)}


def test_no_damage_everyone_supplied(model: PowerGridModel) -> None:
    out = grid_outage(model, [])
    assert out.unsupplied_buses == ()
    assert out.assets["has_power"].all()
    assert out.people_without_power == 0.0
    assert out.load_lost_mw == 0.0
    # baseline load by hand: Σ p_mw × scaling over in-service loads
    loads = model.net.load[model.net.load["in_service"]]
    assert out.load_mw == pytest.approx(float((loads["p_mw"] * loads["scaling"]).sum()))


@pytest.mark.parametrize(("element", "index"), [("line", 0), ("trafo", 114), ("trafo", 142)])
def test_outage_matches_pandapower_topology(
    model: PowerGridModel, element: str, index: int
) -> None:
    net = model.net
    expected = _pandapower_unsupplied(net, element, index)
    assert expected, "the chosen element must cut some buses off"
    out = grid_outage(model, [f"{element}{index}"])
    assert set(out.unsupplied_buses) == expected
    # people: the loads standing on those buses, 10 people each
    dark_loads = net.load.index[net.load["bus"].isin(expected)]
    assert out.people_without_power == pytest.approx(PEOPLE_PER_LOAD * len(dark_loads))
    dark_assets = set(out.assets.loc[~out.assets["has_power"], "asset_id"])
    assert {f"load{i}" for i in dark_loads} | {f"{element}{index}"} <= dark_assets
    assert out.people_by_zone().to_dict() == {"Z1": PEOPLE_PER_LOAD * len(dark_loads)}
    # the user's net is left as it was
    assert bool(net[element].at[index, "in_service"])


def test_loss_of_load_matches_runpp(model: PowerGridModel) -> None:
    out = grid_outage(model, ["trafo114"], power_flow=True)
    own = copy.deepcopy(model.net)
    own.trafo.loc[114, "in_service"] = False
    pp.runpp(own)
    served = float(own.res_load["p_mw"].sum())
    assert out.power_flow is not None and out.power_flow.converged
    assert out.power_flow.load_served_mw == pytest.approx(served)
    # topological loss = baseline − what the power flow still serves
    assert out.load_lost_mw == pytest.approx(out.load_mw - served, abs=1e-9)
    assert out.load_lost_mw > 0
    unsupplied = list(out.unsupplied_buses)
    assert out.power_flow.bus_vm_pu.loc[unsupplied].isna().all()
    assert out.power_flow.bus_vm_pu.drop(unsupplied).dropna().between(0.9, 1.1).all()


def test_redundant_feeds_keep_an_asset_powered(oberrhein: Any) -> None:
    mapping, assets = _twin(oberrhein)
    dark = _pandapower_unsupplied(oberrhein, "line", 0)
    load_dark = int(oberrhein.load.index[oberrhein.load["bus"].isin(dark)][0])
    load_lit = int(oberrhein.load.index[~oberrhein.load["bus"].isin(dark)][0])
    hospital = pd.DataFrame(
        {"asset_id": ["H1", "H1"], "element": ["load", "load"], "index": [load_dark, load_lit]}
    )
    single = pd.DataFrame({"asset_id": ["H2"], "element": ["load"], "index": [load_dark]})
    twin = pd.concat(
        [
            assets,
            pd.DataFrame(
                {"asset_id": ["H1", "H2"], "kind": "hospital", "occupants": 500.0, "zone_id": "Z2"}
            ),
        ],
        ignore_index=True,
    )
    model = PowerGridModel(
        oberrhein, pd.concat([mapping, hospital, single], ignore_index=True), twin
    )
    state = grid_outage(model, ["line0"]).assets.set_index("asset_id")["has_power"]
    assert bool(state["H1"]) and not bool(state["H2"])


def test_damaged_load_is_off_and_non_grid_assets_listed(model: PowerGridModel) -> None:
    out = grid_outage(model, ["load0", "B9"])
    assert out.not_in_grid == ("B9",)
    assert not bool(out.assets.set_index("asset_id").at["load0", "has_power"])
    load = model.net.load.loc[0]
    assert out.load_lost_mw == pytest.approx(float(load["p_mw"] * load["scaling"]))


def test_bad_mapping_lists_every_problem(oberrhein: Any) -> None:
    mapping, assets = _twin(oberrhein)
    bad = pd.DataFrame(
        {
            "asset_id": ["load0", "X", "line1", "line1"],
            "element": ["switchgear", "line", "line", "line"],
            "index": [0, 1, 99999, 99999],
        }
    )
    with pytest.raises(ValidationError) as info:
        PowerGridModel(oberrhein, pd.concat([mapping, bad], ignore_index=True), assets)
    text = str(info.value)
    problems = {(p.column, p.rows) for p in info.value.problems}
    assert ("element", ("load0 → switchgear 0",)) in problems
    assert ("index", ("line1 → line 99999", "line1 → line 99999")) in problems
    assert ("asset_id", ("X → line 1",)) in problems
    assert "each asset–element pair once" in text


def test_mapping_without_consumers_or_columns(oberrhein: Any) -> None:
    _, assets = _twin(oberrhein)
    only_lines = pd.DataFrame({"asset_id": ["line0"], "element": ["line"], "index": [0]})
    with pytest.raises(ValidationError, match="at least one asset mapped to a bus or load"):
        PowerGridModel(oberrhein, only_lines, assets)
    with pytest.raises(ValidationError, match=r"power_mapping\.index"):
        PowerGridModel(oberrhein, only_lines.drop(columns="index"), assets)


def test_net_without_supply_is_refused(oberrhein: Any) -> None:
    mapping, assets = _twin(oberrhein)
    net = copy.deepcopy(oberrhein)
    net.ext_grid["in_service"] = False
    with pytest.raises(ValidationError, match=r"power_net\.ext_grid"):
        PowerGridModel(net, mapping, assets)


def test_damaged_ids_must_be_known_and_grid_assets_mapped(model: PowerGridModel) -> None:
    with pytest.raises(ValidationError) as info:
        grid_outage(model, ["nope", "S9"])
    rows = {p.rows for p in info.value.problems}
    assert rows == {("nope",), ("S9",)}
    assert model.unmapped_assets == ("S9",)


def test_missing_pandapower(monkeypatch: pytest.MonkeyPatch, model: PowerGridModel) -> None:
    monkeypatch.setitem(sys.modules, "pandapower", None)
    with pytest.raises(MissingDependency, match=r"resilientcity\[power\]"):
        grid_outage(model, [])
