"""The report's network and recovery section: service loss, why facilities are down, recovery.

Built from :class:`~resilientcity.recovery.stage.NetworkStage`: a map of who lost power,
water or road access at the moment of the event, the chain of causes of every critical facility
that is down (``facility_kinds`` of :func:`~resilientcity.critical.critical_facilities`, in
``repair_priority`` order), the service levels per sector, and the recovery curves with their resilience
metrics.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from resilientcity.critical import critical_facilities
from resilientcity.network.service import sectors_without_assets
from resilientcity.recovery.stage import NetworkStage
from resilientcity.report.figures import (
    CHART_LAYOUT,
    MAX_BUILDINGS,
    base_traces,
    map_layout,
    points_xy,
)
from resilientcity.report.html import Section, figure_html
from resilientcity.report.markup import esc, fmt_num, html_table
from resilientcity.twin.city import City

__all__ = ["recovery_figure", "recovery_section", "service_loss_map"]

#: What a building lost, in the order the map draws it, with its colour.
LOSS_STYLE: dict[str, str] = {
    "no power": "#6a3d9a",
    "no water": "#1f78b4",
    "no power or water": "#e31a1c",
    "isolated (no hospital reachable)": "#ff7f00",
}
SECTOR_COLOURS: dict[str, str] = {
    "energy": "#6a3d9a",
    "water": "#1f78b4",
    "medical": "#e31a1c",
    "public_services": "#33a02c",
    "communications": "#fb9a99",
    "transport": "#ff7f00",
    "housing": "#b15928",
    "city": "#000000",
}


def _building_loss(city: City, stage: NetworkStage) -> pd.Series:
    """Per building what it lost at t = 0 (``""`` when nothing)."""
    power = stage.cascade.supplied("power")
    water = stage.cascade.supplied("water")
    is_building = (city.assets["kind"] == "building").to_numpy()
    label = np.full(len(city.assets), "", dtype=object)
    label[~power & water] = "no power"
    label[power & ~water] = "no water"
    label[~power & ~water] = "no power or water"
    isolated = pd.Series(
        stage.access["isolated"].to_numpy(dtype=bool), index=stage.access["asset_id"].to_numpy()
    )
    ids = city.assets["asset_id"].to_numpy()
    cut_off = isolated.reindex(ids, fill_value=False).to_numpy(dtype=bool) & (label == "")
    label[cut_off] = "isolated (no hospital reachable)"
    label[~is_building] = ""
    return pd.Series(label, index=ids)


def service_loss_map(
    city: City, stage: NetworkStage, max_buildings: int = MAX_BUILDINGS
) -> go.Figure:
    """Map at the moment of the event.

    Buildings without power or water or cut off, closed roads, and facilities down (hover for the
    chain of causes).
    """
    x, y = points_xy(city.assets.geometry)
    n_buildings = int((city.assets["kind"] == "building").sum())
    traces: list[Any] = base_traces(city, n_buildings > max_buildings)
    loss = _building_loss(city, stage).to_numpy()
    step = max(1, n_buildings // max_buildings)  # thin very large cities evenly
    for name, colour in LOSS_STYLE.items():
        m = np.flatnonzero(loss == name)[::step]
        traces.append(
            go.Scattergl(
                x=x[m],
                y=y[m],
                mode="markers",
                name=f"{name} ({int((loss == name).sum()):,} buildings)",
                marker={"size": 4, "color": colour, "opacity": 0.8},
                hoverinfo="skip",
                legendgroup="service",
                legendgrouptitle_text="buildings at the moment of the event",
            )
        )
    frame = stage.cascade.frame()
    kinds = city.assets["kind"].to_numpy(dtype=str)
    down = np.flatnonzero(~frame["functional"].to_numpy(dtype=bool) & (kinds != "building"))
    text = [
        f"{html.escape(str(a))} ({html.escape(k.replace('_', ' '))})<br>{html.escape(str(c))}"
        for a, k, c in zip(
            frame["asset_id"].to_numpy()[down],
            kinds[down],
            frame["cause"].to_numpy()[down],
            strict=True,
        )
    ]
    traces.append(
        go.Scattergl(
            x=x[down],
            y=y[down],
            mode="markers",
            name=f"facilities down ({down.size:,}); hover: why",
            marker={"symbol": "x", "size": 10, "color": "#b2182b", "line": {"width": 2}},
            text=text,
            hovertemplate="%{text}<extra></extra>",
            legendgroup="facilities",
            legendgrouptitle_text="facilities",
        )
    )
    closed = stage.edges["open"].to_numpy(dtype=bool)
    if (~closed).any():
        xs: list[float | None] = []
        ys: list[float | None] = []
        for geom in city.roads.edges.geometry.to_numpy()[~closed]:
            cx, cy = geom.xy
            xs += [*cx, None]
            ys += [*cy, None]
        traces.append(
            go.Scattergl(
                x=xs,
                y=ys,
                mode="lines",
                name=f"roads closed ({int((~closed).sum()):,} edges)",
                line={"color": "#000000", "width": 3, "dash": "dot"},
                hoverinfo="skip",
                legendgroup="roads-closed",
            )
        )
    return map_layout(go.Figure(data=traces), city)


def recovery_figure(stage: NetworkStage) -> go.Figure:
    """Service level of each sector and of the city (all zones) over the recovery."""
    levels = stage.curve.levels
    t = stage.curve.times
    fig = go.Figure()
    for column in levels.columns:
        sector, zone = tuple(column)
        if zone != "all":
            continue
        fig.add_trace(
            go.Scatter(
                x=t,
                y=levels[(sector, zone)].to_numpy(),
                mode="lines",
                name=html.escape(str(sector).replace("_", " ")),
                line={
                    "color": SECTOR_COLOURS.get(str(sector), "#555555"),
                    "width": 4 if sector == "city" else 2,
                },
                hovertemplate="day %{x:.0f}: %{y:.1%}<extra>"
                + html.escape(str(sector))
                + "</extra>",
            )
        )
    fig.update_layout(
        CHART_LAYOUT,
        height=460,
        title="Recovery: service level per sector",
        xaxis_title="days after the event",
        yaxis={"title": "service level", "tickformat": ".0%", "range": [0, 1.02]},
    )
    return fig


def _why_table(city: City, stage: NetworkStage) -> str:
    frame = stage.cascade.frame().assign(
        kind=city.assets["kind"].to_numpy(dtype=str), name=city.assets["name"].to_numpy(dtype=str)
    )
    days = pd.Series(stage.restoration_days, index=frame["asset_id"].to_numpy())
    critical = critical_facilities()
    down = frame[~frame["functional"] & frame["kind"].isin(critical.facility_kinds)]
    order = {k: i for i, k in enumerate(critical.repair_priority)}
    down = down.assign(rank=down["kind"].map(order)).sort_values(["rank", "asset_id"])
    rows = [
        [
            f"{r.asset_id} {r.name}".strip(),
            str(r.kind).replace("_", " "),
            r.cause,
            fmt_num(days.get(r.asset_id, 0.0)) if r.damaged else "–",
        ]
        for r in down.itertuples()
    ]
    if not rows:
        return '<p class="note">Every critical facility still functions.</p>'
    return html_table(
        ["facility", "kind", "why it is down (chain of causes)", "own repair (days)"],
        rows,
        caption="Critical facilities down at the moment of the event",
    )


def _levels_table(stage: NetworkStage, absent: Mapping[str, str]) -> str:
    m = stage.metrics
    t0 = stage.levels[stage.levels["zone"] == "all"].set_index("sector")["level"]
    rows = []
    for k, (sector, zone) in enumerate(m.index):
        if zone != "all":
            continue
        row = m.iloc[k]
        rapid = row["rapidity_days"]
        rows.append(
            [
                str(sector).replace("_", " "),
                f"{t0.get(sector, np.nan):.1%}" if sector in t0.index else "–",
                f"{row['robustness']:.1%}",
                f"{rapid:,.1f}" if np.isfinite(rapid) else f"> {stage.curve.times[-1]:g}",
                f"{row['resilience_loss_days']:,.1f}",
                f"{row['resilience_index']:.3f}",
            ]
        )
    rows += [[s.replace("_", " "), f"not measured: {why}", "–", "–", "–", "–"]
             for s, why in absent.items()]  # fmt: skip
    return html_table(
        ["sector", "level at t = 0", "robustness (min)", "rapidity (days to 95 %)",
         "resilience loss (days)", "resilience index"],
        rows,
        caption="Service levels and resilience metrics (all zones)",
    )  # fmt: skip


def _policies_table(policies: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for p in policies:
        rapid = float(p["rapidity_days"])
        rows.append(
            [
                str(p["policy"]).replace("_", " "),
                f"{float(p['resilience_loss']):,.2f}",
                f"{float(p['resilience_index']):.3f}",
                f"{rapid:,.1f}" if np.isfinite(rapid) else "–",
                f"{float(p['loss_vs_naive']):+,.2f} ({float(p['loss_vs_naive_pct']):+.1f} %)",
            ]
        )
    return html_table(
        ["repair policy", "resilience loss (days)", "resilience index", "rapidity (days)",
         "loss vs naive order"],
        rows,
        caption="Repair priorities compared in the recovery simulation (city level)",
    )  # fmt: skip


def recovery_section(
    city: City,
    stage: NetworkStage,
    max_buildings: int = MAX_BUILDINGS,
    policies: Sequence[Mapping[str, Any]] | None = None,
) -> Section:
    """The report section of the network, cascade and recovery stage.

    With the repair-policy comparison when ``policies`` holds the records of
    :func:`~resilientcity.decision.repair.compare_repair_policies`.
    """
    isolated = stage.access["isolated"].to_numpy(dtype=bool)
    people = float(stage.access["occupants"].to_numpy()[isolated].sum())
    has_hospital = bool((city.assets["kind"] == "hospital").any())
    cut_off = (
        f"{fmt_num(people)} people with no functioning hospital reachable by road"
        if has_hospital
        else f"{fmt_num(people)} people cut off from the main part of the open roads (the city "
        "has no hospital)"
    )
    absent = sectors_without_assets(city.assets, city.roads.edges)
    frame = stage.cascade.frame()
    parts = [
        '<p class="note">At the moment of the event: '
        f"{int(stage.damaged.sum()):,} assets damaged, "
        f"{int((~frame['functional'] & ~frame['damaged']).sum()):,} more down through their "
        f"dependencies, {int((~stage.edges['open']).sum()):,} road edges closed, "
        f"{cut_off}. "
        "Flood water on the roads is assumed to recede before repairs start: the recovery "
        "closes only the edges of damaged road assets.</p>",
        *(f'<p class="note">Road network: {esc(p)}</p>' for p in stage.road_problems),
        figure_html(service_loss_map(city, stage, max_buildings), "service-loss-map"),
        "<h3>Why is it down?</h3>",
        _why_table(city, stage),
        "<h3>Recovery</h3>",
        figure_html(recovery_figure(stage), "recovery-curves"),
        _levels_table(stage, absent),
    ]
    if policies:
        parts.append(_policies_table(policies))
    return Section("Networks, cascades and recovery", "\n".join(parts))
