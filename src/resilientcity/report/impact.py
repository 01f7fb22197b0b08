"""The report's impact section: damage map, losses by sector and zone, the exceedance curve.

Built from :class:`~resilientcity.impact.results.ScenarioImpact` (one per scenario hazard) and
:class:`~resilientcity.impact.results.EventSetImpact` (probabilistic sets). Maps reuse the twin
map's base layers; above ``MAX_BUILDINGS`` buildings the damage is summed to H3 cells.

Facilities down on the damage map: when the scenario's network stage ran, the map shows its
state at the moment of the event (the cascade over the combined hazards' damage, the state the
recovery section explains), so the map and the recovery section agree; without it, a facility
is drawn down when this hazard's probability of functioning is below ``down_below``
(:func:`~resilientcity.critical.critical_facilities`). The legend says which it shows.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from resilientcity.critical import critical_facilities
from resilientcity.errors import fail
from resilientcity.impact.results import EventSetImpact, ScenarioImpact
from resilientcity.network.cascade import CascadeResult
from resilientcity.report.figures import (
    CHART_LAYOUT,
    MAX_BUILDINGS,
    base_traces,
    map_layout,
    points_xy,
)
from resilientcity.report.html import Section, figure_html
from resilientcity.report.markup import esc, fmt_cny, fmt_num, html_table
from resilientcity.twin.city import City

__all__ = [
    "damage_map_figure",
    "exceedance_figure",
    "facility_state",
    "impact_section",
    "loss_by_figure",
]

#: Damage ratio colours: pale yellow (light damage) to dark red (total loss).
DAMAGE_COLOURS = [[0, "#fff3b0"], [0.25, "#fdb863"], [0.5, "#e6550d"], [1, "#67000d"]]
#: The damage colour bar: horizontal, under the map on the right (the legend is on the right).
_COLORBAR = {
    "title": {"text": "damage ratio", "side": "top"},
    "tickformat": ".0%",
    "orientation": "h",
    "x": 0.62,
    "xanchor": "center",
    "y": -0.1,
    "yanchor": "top",
    "len": 0.35,
    "thickness": 12,
}


def _joined(city: City, impact: ScenarioImpact) -> pd.DataFrame:
    cols = ["asset_id", "kind", "sector", "zone_id", "cell_id", "name", "value", "occupants"]
    base = city.assets[[c for c in cols if c in city.assets.columns]].reset_index(drop=True)
    per_asset = impact.assets.set_index("asset_id").reindex(base["asset_id"]).reset_index(drop=True)
    return pd.concat([base, per_asset], axis=1)


def damage_map_figure(
    city: City,
    impact: ScenarioImpact,
    max_buildings: int = MAX_BUILDINGS,
    cascade: CascadeResult | None = None,
) -> go.Figure:
    """Map of the damage: buildings by damage ratio (or H3 cells by loss), facilities down.

    Parameters
    ----------
    city
        The city the impact was computed on.
    impact
        The scenario hazard's impact (its per-asset table).
    max_buildings
        Above this many buildings, damaged buildings are summed per H3 cell.
    cascade
        The network stage's cascade at the moment of the event (one state per asset, city
        order, over all the scenario's hazards). When given, a facility is down where it does
        not function there (damaged, or down through its dependencies); without it, where
        this hazard's ``p_functional`` is below ``down_below``
        (:func:`~resilientcity.critical.critical_facilities`).
    """
    frame = _joined(city, impact)
    x, y = points_xy(city.assets.geometry)
    is_building = (frame["kind"] == "building").to_numpy()
    aggregated = int(is_building.sum()) > max_buildings
    traces: list[Any] = base_traces(city, aggregated)
    damaged = is_building & (frame["loss"].to_numpy() > 0)
    if aggregated:
        traces.append(_cell_damage_trace(frame[damaged], x[damaged], y[damaged]))
    else:
        traces.append(_building_damage_trace(frame[damaged], x[damaged], y[damaged]))
    facilities = ~is_building
    state = facility_state(frame, cascade)
    down = facilities & state["down"].to_numpy(dtype=bool)
    up = facilities & ~down
    title = (
        "facilities (network stage, all hazards: down = not functioning)"
        if cascade is not None
        else f"facilities (this hazard: P(functional) < {critical_facilities().down_below:.0%} = down)"
    )
    frame = frame.assign(state=state["state"].to_numpy())
    traces.append(_facility_trace(frame[up], x[up], y[up], down=False, title=title))
    traces.append(_facility_trace(frame[down], x[down], y[down], down=True, title=title))
    return map_layout(go.Figure(data=traces), city)


def facility_state(frame: pd.DataFrame, cascade: CascadeResult | None = None) -> pd.DataFrame:
    """Down or not per asset as the damage map draws it, and the words that say why.

    Parameters
    ----------
    frame
        One row per asset (city order) with ``asset_id`` and this hazard's ``p_functional``.
    cascade
        The network stage's cascade (same assets, same order), or ``None``.

    Returns
    -------
    pandas.DataFrame
        ``down`` (bool) and ``state`` (text for the map's hover), one row per asset of
        ``frame``, its index. With ``cascade``: down where the cascade says the asset does not
        function, the state naming the cause; without: down where ``p_functional`` is below
        ``down_below`` of :func:`~resilientcity.critical.critical_facilities`.

    Raises
    ------
    ValidationError
        ``cascade`` is not over ``frame``'s assets in their order.
    """
    if cascade is None:
        down = frame["p_functional"].to_numpy() < critical_facilities().down_below
        said = np.where(down, "down (this hazard)", "functioning (this hazard)")
        return pd.DataFrame({"down": down, "state": said}, index=frame.index)
    state = cascade.frame()
    if not np.array_equal(
        state["asset_id"].to_numpy(dtype=str), frame["asset_id"].to_numpy(dtype=str)
    ):
        fail(
            "cascade",
            "asset_id",
            "the network stage's state of the city's assets, in the city's order",
            found=f"{len(state):,} assets against the city's {len(frame):,} (or another order)",
            what="damage map input",
        )
    down = ~state["functional"].to_numpy(dtype=bool)
    words = [
        f"down after all hazards: {cause}" if d else "functioning after all hazards"
        for d, cause in zip(down, state["cause"].to_numpy(dtype=str), strict=True)
    ]
    return pd.DataFrame({"down": down, "state": words}, index=frame.index)


def _building_damage_trace(f: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> go.Scattergl:
    text = [
        f"{html.escape(str(a))}<br>damage ratio {d:.1%}, loss {loss / 1e6:,.2f} M CNY"
        f"<br>intensity {i:.2f}"
        for a, d, loss, i in zip(
            f["asset_id"], f["damage_ratio"], f["loss"], f["intensity"], strict=True
        )
    ]
    return go.Scattergl(
        x=x,
        y=y,
        mode="markers",
        name=f"damaged buildings ({len(f):,}), colour: damage ratio",
        marker={
            "size": 5,
            "color": f["damage_ratio"].to_numpy(),
            "cmin": 0.0,
            "cmax": 1.0,
            "colorscale": DAMAGE_COLOURS,
            "colorbar": _COLORBAR,
        },
        text=text,
        hovertemplate="%{text}<extra></extra>",
        legendgroup="damage",
        legendgrouptitle_text="damage",
    )


def _cell_damage_trace(f: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> go.Scattergl:
    g = f.assign(x=x, y=y).groupby("cell_id", sort=True)
    agg = g[["x", "y"]].mean().join(g[["loss", "value"]].sum()).assign(n=g.size())
    ratio = (agg["loss"] / agg["value"].where(agg["value"] > 0)).fillna(0.0)
    size = 5 + 20 * np.sqrt(agg["loss"] / max(float(agg["loss"].max()), 1.0))
    text = [
        f"{html.escape(str(c))}<br>{n:,} damaged buildings, loss {loss / 1e8:,.2f} 亿 CNY"
        for c, n, loss in zip(agg.index, agg["n"], agg["loss"], strict=True)
    ]
    return go.Scattergl(
        x=agg["x"].to_numpy(),
        y=agg["y"].to_numpy(),
        mode="markers",
        name=f"damaged buildings per H3 cell ({int(agg['n'].sum()):,}); size: loss",
        marker={
            "size": size.to_numpy(),
            "color": ratio.to_numpy(),
            "cmin": 0.0,
            "cmax": 1.0,
            "colorscale": DAMAGE_COLOURS,
            "colorbar": _COLORBAR,
            "line": {"width": 0.5, "color": "white"},
        },
        text=text,
        hovertemplate="%{text}<extra></extra>",
        legendgroup="damage",
        legendgrouptitle_text="damage",
    )


def _facility_trace(
    f: pd.DataFrame, x: np.ndarray, y: np.ndarray, down: bool, title: str
) -> go.Scattergl:
    text = [
        f"{html.escape(str(a))} ({html.escape(str(k).replace('_', ' '))})"
        f"<br>{html.escape(str(s))}"
        f"<br>this hazard: P(functional) {p:.0%}, damage ratio {d:.1%}"
        for a, k, s, p, d in zip(
            f["asset_id"], f["kind"], f["state"], f["p_functional"], f["damage_ratio"], strict=True
        )
    ]
    label = "facilities down" if down else "facilities functioning"
    return go.Scattergl(
        x=x,
        y=y,
        mode="markers",
        name=f"{label} ({len(f):,})",
        marker={
            "symbol": "x" if down else "circle-open",
            "size": 11 if down else 7,
            "color": "#b2182b" if down else "#2166ac",
            "line": {"width": 2 if down else 1},
        },
        text=text,
        hovertemplate="%{text}<extra></extra>",
        legendgroup="facilities",
        legendgrouptitle_text=title,
        visible=True if down else "legendonly",
    )


def loss_by_figure(loss: pd.Series, title: str, top: int = 15) -> go.Figure:
    """Horizontal bars of loss (亿 CNY) per group, largest on top (at most ``top`` groups)."""
    rows = loss[loss > 0].sort_values(ascending=False).head(top).sort_values()
    fig = go.Figure(
        go.Bar(
            x=(rows / 1e8).to_numpy(),
            y=[html.escape(str(k)) for k in rows.index],
            orientation="h",
            marker_color="#b2182b",
            hovertemplate="%{y}: %{x:,.2f} 亿 CNY<extra></extra>",
        )
    )
    fig.update_layout(CHART_LAYOUT, title=title, xaxis_title="亿 CNY")
    return fig


def exceedance_figure(curves: Sequence[EventSetImpact]) -> go.Figure:
    """Loss-exceedance curves: loss (亿 CNY) against return period (years, log scale)."""
    fig = go.Figure()
    for s in curves:
        ex = s.exceedance[np.isfinite(s.exceedance["return_period_years"])]
        fig.add_trace(
            go.Scatter(
                x=ex["return_period_years"].to_numpy(),
                y=(ex["loss"] / 1e8).to_numpy(),
                mode="lines+markers",
                line_shape="hv",
                name=html.escape(f"{s.name} (EAL {s.expected_annual_loss / 1e8:,.2f} 亿 CNY/yr)"),
                hovertemplate="T = %{x:,.0f} years: %{y:,.2f} 亿 CNY<extra></extra>",
            )
        )
    fig.update_layout(
        CHART_LAYOUT,
        title="Loss-exceedance curve",
        xaxis={"type": "log", "title": "return period (years)"},
        yaxis_title="loss (亿 CNY)",
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
    )
    return fig


def _totals_table(impacts: Sequence[ScenarioImpact]) -> str:
    header = ["hazard", "events", "assets exposed", "loss", "casualties", "fatalities",
              "displaced", "assets down (expected)"]  # fmt: skip
    rows = [
        [
            i.name,
            i.events.n_events,
            fmt_num(i.totals["assets_exposed"]),
            fmt_cny(i.totals["loss"]),
            fmt_num(i.totals["casualties"]),
            fmt_num(i.totals["fatalities"]),
            fmt_num(i.totals["displaced"]),
            fmt_num(i.totals["assets_nonfunctional"]),
        ]
        for i in impacts
    ]
    return html_table(header, rows, caption="Scenario totals (mean over the events of each hazard)")


def _eal_table(sets: Sequence[EventSetImpact]) -> str:
    header = ["event set", "events", "Σ frequency (1/yr)", "expected annual loss"]
    rows = [
        [
            s.name,
            s.events.n_events,
            f"{s.events.frequency.sum():.4g}",
            fmt_cny(s.expected_annual_loss),
        ]
        for s in sets
    ]
    return html_table(header, rows, caption="Probabilistic event sets")


def impact_section(
    city: City,
    impacts: Sequence[ScenarioImpact],
    event_sets: Sequence[EventSetImpact] = (),
    max_buildings: int = MAX_BUILDINGS,
    cascade: CascadeResult | None = None,
) -> Section:
    """The report section of the impact stage.

    One damage map and losses by sector and zone per scenario hazard, the totals table, and the
    exceedance curves and expected annual losses of the event sets. ``cascade``: the network
    stage's cascade at the moment of the event, whose facilities down every damage map shows
    (see :func:`damage_map_figure`).
    """
    parts = [_totals_table(impacts)] if impacts else []
    for k, impact in enumerate(impacts):
        frame = _joined(city, impact)
        parts.append(f"<h3>{esc(impact.name)}</h3>")
        parts += [f'<p class="note">{esc(n)}</p>' for n in impact.notes]
        parts.append(
            figure_html(damage_map_figure(city, impact, max_buildings, cascade), f"damage-map-{k}")
        )
        by_sector = frame.groupby("sector", observed=True)["loss"].sum()
        by_zone = frame.groupby("zone_id", observed=True)["loss"].sum()
        names = city.zones.set_index("zone_id")["name"] if "name" in city.zones else None
        if names is not None:
            by_zone.index = [
                f"{names.get(z, z) or z} ({z})" if names.get(z) else str(z) for z in by_zone.index
            ]
        charts = [
            figure_html(loss_by_figure(by_sector, "Loss by sector"), f"loss-sector-{k}"),
            figure_html(loss_by_figure(by_zone, "Loss by zone"), f"loss-zone-{k}"),
        ]
        parts.append('<div class="charts">' + "".join(charts) + "</div>")
    if event_sets:
        parts.append("<h3>Expected annual loss</h3>")
        parts.append(_eal_table(event_sets))
        parts.append(figure_html(exceedance_figure(event_sets), "exceedance"))
    return Section("Impact: damage and loss", "\n".join(parts))
