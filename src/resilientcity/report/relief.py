"""The report's relief section: fill rates per commodity and day, the worst-served shelters."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from resilientcity.decision.relief import ReliefPlan
from resilientcity.report.figures import CHART_LAYOUT
from resilientcity.report.html import Section, figure_html
from resilientcity.report.markup import fmt_num, html_table

__all__ = ["relief_fill_figure", "relief_section", "shelter_fill_table"]


def _rate(frame: pd.DataFrame) -> pd.Series:
    """Delivered / needed units of each group (NaN where nothing is needed)."""
    need = frame["demand_units"]
    return (frame["delivered_units"] / need).where(need > 0)


def relief_fill_figure(plan: ReliefPlan) -> go.Figure:
    """Lines of each commodity's fill rate (all shelters together) by day."""
    by = plan.fill.groupby(["commodity", "day"], sort=True)[["demand_units", "delivered_units"]]
    rate = _rate(by.sum())
    fig = go.Figure()
    for commodity in rate.index.get_level_values("commodity").unique():
        r = rate.loc[commodity]
        fig.add_trace(
            go.Scatter(
                x=r.index.to_numpy(),
                y=r.to_numpy(),
                mode="lines+markers",
                name=html.escape(str(commodity).replace("_", " ")),
            )
        )
    fig.update_layout(
        CHART_LAYOUT,
        title="Relief fill rate by commodity and day",
        xaxis_title="day",
        yaxis_title="delivered / needed",
        yaxis_range=[0, 1.05],
    )
    return fig


def shelter_fill_table(plan: ReliefPlan, worst: int = 10) -> str:
    """A table of the ``worst`` shelters by mean fill rate over the commodities (all days)."""
    by = plan.fill.groupby(["shelter_id", "commodity"], sort=True)
    rates = _rate(by[["demand_units", "delivered_units"]].sum()).unstack("commodity")
    mean = rates.mean(axis=1, skipna=True)
    order = mean.sort_values(kind="stable").head(worst).index
    commodities = [str(c) for c in rates.columns]
    rows = [
        [str(s), *(_pct(rates.at[s, c]) for c in rates.columns), _pct(mean.at[s])] for s in order
    ]
    head = ["shelter", *(c.replace("_", " ") for c in commodities), "mean"]
    caption = f"The {len(rows)} shelters with the lowest fill rate (delivered / needed, all days)"
    return html_table(head, rows, caption=caption)


def _pct(value: Any) -> str:
    """A fill rate as a whole percentage; a dash when there is none (NaN)."""
    rate = float(value)
    return f"{100 * rate:.0f}%" if np.isfinite(rate) else "–"


def relief_section(plan: ReliefPlan) -> Section:
    """Totals per commodity, fill rate by commodity and day (chart), the worst-filled shelters."""
    if plan.fill.empty or not (plan.fill["demand_units"] > 0).any():
        body = '<p class="note">No one is sheltered, so no relief is needed.</p>'
        return Section("Decisions: relief distribution", body)
    by = plan.fill.groupby("commodity", sort=True)[["demand_units", "delivered_units"]].sum()
    rate = _rate(by)
    rows = [
        [
            str(c).replace("_", " "),
            fmt_num(need),
            fmt_num(got),
            fmt_num(need - got),
            _pct(rate.at[c]),
        ]
        for c, need, got in zip(by.index, by["demand_units"], by["delivered_units"], strict=True)
    ]
    parts = [
        '<p class="note">Stocks of the undamaged warehouses go to the shelters by the least unmet '
        "demand, then the least unit-minutes on the damaged roads (HiGHS, solved to optimality). "
        "Units differ by commodity (litres, rations, kit modules, tents).</p>",
        html_table(
            ["commodity", "needed", "delivered", "unmet", "fill"],
            rows,
            caption="Relief by commodity, all shelters and days",
        ),
        figure_html(relief_fill_figure(plan), "relief-fill"),
        shelter_fill_table(plan),
    ]
    return Section("Decisions: relief distribution", "\n".join(parts))
