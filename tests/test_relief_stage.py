"""The relief stage on the small demo city: stocks, demand, costs on the damaged roads, summary."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from resilientcity.decision.relief import ReliefPlan, relief_needs
from resilientcity.errors import ValidationError
from resilientcity.pipeline import demo_scenario
from resilientcity.report.relief import relief_section
from resilientcity.scenario.relief_stage import (
    relief_stage,
    relief_summary,
    relief_travel_minutes,
    warehouse_stock_spec,
    warehouse_stocks,
)
from resilientcity.scenario.run import ScenarioRun, run_scenario
from resilientcity.twin import City

TOL = 1e-6


@pytest.fixture(scope="module")
def run(small_city: City) -> ScenarioRun:
    return run_scenario(demo_scenario("small"), city=small_city)


@pytest.fixture(scope="module")
def plan(small_city: City, run: ScenarioRun) -> ReliefPlan:
    assert run.network is not None and run.evacuation is not None
    return relief_stage(small_city, run.network, run.evacuation)


def test_spec_shares_sum_to_one() -> None:
    spec = warehouse_stock_spec()
    assert set(spec.index) == set(relief_needs().index)
    assert spec["share"].sum() == pytest.approx(1.0)


def test_stock_of_one_warehouse_by_hand(small_city: City) -> None:
    stocks = warehouse_stocks(small_city)
    wh = small_city.assets[small_city.assets["kind"] == "warehouse"].iloc[0]
    mine = stocks[stocks["warehouse_id"] == wh["asset_id"]].set_index("commodity")["stock_units"]
    m3 = float(wh["capacity"])
    # warehouse_stock.json: water share 0.7024 x 518 L/m3; food 0.0701 x 346 rations/m3;
    # medical kits 0.0001 x 5 modules/m3; tents 0.2274 x (1 / 0.3) tents/m3.
    assert mine["water"] == pytest.approx(m3 * 0.7024 * 518.0)
    assert mine["food"] == pytest.approx(m3 * 0.0701 * 346.0)
    assert mine["medical_kit"] == pytest.approx(m3 * 0.0001 * 5.0)
    assert mine["tent"] == pytest.approx(m3 * 0.2274 / 0.3)
    if m3 == 15900.0:  # the demo's WH002: 15,900 x 0.7024 x 518 = 5,785,106.88 L of water
        assert mine["water"] == pytest.approx(5_785_106.88)


def test_damaged_warehouses_hold_nothing(small_city: City, run: ScenarioRun) -> None:
    assert run.network is not None
    stocks = warehouse_stocks(small_city, run.network.damaged)
    a = small_city.assets
    up = a.loc[(a["kind"] == "warehouse").to_numpy() & ~run.network.damaged, "asset_id"]
    assert set(stocks["warehouse_id"]) == set(up.astype(str))


def test_stock_never_exceeded(small_city: City, run: ScenarioRun, plan: ReliefPlan) -> None:
    assert run.network is not None
    stocks = warehouse_stocks(small_city, run.network.damaged)
    stock = stocks.set_index(["warehouse_id", "commodity"])["stock_units"]
    shipped = plan.shipments.groupby(["warehouse_id", "commodity"])["units"].sum()
    assert (shipped <= stock.reindex(shipped.index) + TOL).all()


def test_demand_never_over_served(plan: ReliefPlan) -> None:
    f = plan.fill
    assert (f["delivered_units"] <= f["demand_units"] + TOL).all()
    keys = ["shelter_id", "commodity", "day"]
    got = plan.shipments.groupby(keys)["units"].sum()
    want = f.set_index(keys)["delivered_units"].reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=TOL)


def test_demand_is_the_sheltered_people(run: ScenarioRun, plan: ReliefPlan) -> None:
    assert run.evacuation is not None
    s = run.evacuation.shelters
    people = s.set_index("shelter_id")["assigned_people"]
    food = plan.fill[(plan.fill["commodity"] == "food") & (plan.fill["day"] == 0)]
    # One 2,100 kcal ration per person and day (relief_needs.json).
    want = people.loc[food["shelter_id"]].to_numpy()
    np.testing.assert_allclose(food["demand_units"].to_numpy(), want)
    assert set(food["shelter_id"]) == set(people.index[people > 0].astype(str))
    assert plan.fill["day"].max() == 6  # seven days by default


def test_shipments_only_on_connected_pairs(
    small_city: City, run: ScenarioRun, plan: ReliefPlan
) -> None:
    assert run.network is not None
    stocks = warehouse_stocks(small_city, run.network.damaged)
    shelters = pd.Index(plan.fill["shelter_id"].unique())
    minutes = relief_travel_minutes(small_city, run.network.edges, stocks, shelters)
    cost = minutes.to_numpy()[
        minutes.index.get_indexer(plan.shipments["warehouse_id"]),
        minutes.columns.get_indexer(plan.shipments["shelter_id"]),
    ]
    assert np.isfinite(cost).all()
    np.testing.assert_allclose(cost, plan.shipments["cost"].to_numpy())


def test_summary_fill_rates(plan: ReliefPlan) -> None:
    s = relief_summary(plan)
    rates = s["relief_fill_by_commodity"]
    assert set(rates) == {"water", "food", "medical_kit", "tent"}
    assert all(0.0 <= r <= 1.0 for r in rates.values())
    # The overall rate is the unweighted mean of the four commodities' rates.
    assert s["relief_fill_rate"] == pytest.approx(sum(rates.values()) / 4)
    water = plan.fill[plan.fill["commodity"] == "water"]
    need, got = water["demand_units"].sum(), water["delivered_units"].sum()
    assert rates["water"] == pytest.approx(got / need)
    assert s["relief_unmet"]["water"] == pytest.approx(need - got)
    assert ((plan.fill["fill_rate"] >= 0) & (plan.fill["fill_rate"] <= 1 + TOL)).all()


def test_no_one_sheltered(small_city: City, run: ScenarioRun) -> None:
    assert run.network is not None and run.evacuation is not None
    empty = run.evacuation.shelters.assign(assigned_people=0.0)
    evac = dataclasses.replace(run.evacuation, shelters=empty)
    plan = relief_stage(small_city, run.network, evac)
    assert plan.fill.empty and plan.shipments.empty
    s = relief_summary(plan)
    assert s["relief_fill_rate"] is None
    assert s["relief_fill_by_commodity"] == {} and s["relief_unmet"] == {}
    assert "No one is sheltered" in relief_section(plan).html


def test_no_warehouse_leaves_all_unmet(small_city: City, run: ScenarioRun) -> None:
    assert run.network is not None and run.evacuation is not None
    down = run.network.damaged | (small_city.assets["kind"] == "warehouse").to_numpy()
    stage = dataclasses.replace(run.network, damaged=down)
    plan = relief_stage(small_city, stage, run.evacuation, days=2)
    assert plan.shipments.empty
    s = relief_summary(plan)
    assert s["relief_fill_rate"] == 0.0
    assert s["relief_unmet"]["tent"] == pytest.approx(plan.fill["demand_units"][
        plan.fill["commodity"] == "tent"].sum())  # fmt: skip


def test_report_section(plan: ReliefPlan) -> None:
    section = relief_section(plan)
    assert section.title == "Decisions: relief distribution"
    assert 'id="relief-fill"' in section.html
    assert "lowest fill rate" in section.html


def test_bad_days(small_city: City, run: ScenarioRun) -> None:
    assert run.network is not None and run.evacuation is not None
    with pytest.raises(ValidationError, match="days"):
        relief_stage(small_city, run.network, run.evacuation, days=0)


def test_bad_damaged_length(small_city: City) -> None:
    with pytest.raises(ValidationError, match="damaged"):
        warehouse_stocks(small_city, np.zeros(3, dtype=bool))


def test_bad_capacity_names_the_warehouse() -> None:
    assets = pd.DataFrame(
        {
            "asset_id": ["W1", "W2", "S1"],
            "kind": ["warehouse", "warehouse", "shelter"],
            "capacity": [100.0, -5.0, 10.0],
            "node_id": [0, 1, 2],
        }
    )
    city = SimpleNamespace(assets=assets)
    with pytest.raises(ValidationError, match="W2") as info:
        warehouse_stocks(city)  # type: ignore[arg-type]
    assert "W1" not in str(info.value)


def test_unknown_shelter(small_city: City, run: ScenarioRun) -> None:
    assert run.network is not None
    stocks = warehouse_stocks(small_city)
    with pytest.raises(ValidationError, match="NOPE"):
        relief_travel_minutes(small_city, run.network.edges, stocks, pd.Index(["NOPE"]))
