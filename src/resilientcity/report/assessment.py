"""The report section of a resilience assessment, and a standalone page for ``resilientcity assess``.

The section shows the scores and ranks, a radar chart of the dimension scores (one trace per
unit; click the legend to compare units), a dimension × unit heat map, the score trends when the
table has several years, the weak spots (main obstacles per unit) and, when given, the maturity
level on the seed's L1–L4 model with its roadmap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from resilientcity._files import write_text_atomic
from resilientcity.assessment.indicators import dimensions
from resilientcity.assessment.maturity import MaturityResult
from resilientcity.assessment.run import AssessmentResult
from resilientcity.report.html import CSS, Section, figure_html
from resilientcity.report.markup import esc, html_table

__all__ = [
    "assessment_section",
    "dimension_heatmap",
    "radar_figure",
    "render_assessment_page",
    "trend_figure",
    "write_assessment_page",
]

#: Units drawn in the radar chart (the best ranked); more would be unreadable.
MAX_RADAR_UNITS = 12
#: Main obstacles listed per unit in the weak-spot table.
TOP_OBSTACLES = 3


def _dimension_names() -> dict[str, str]:
    return {d.id: f"{d.name_zh} {d.name_en}" for d in dimensions()}


def radar_figure(result: AssessmentResult) -> go.Figure:
    """Radar chart of the dimension scores, one closed trace per unit (best ranked first)."""
    names = _dimension_names()
    dims = list(result.dimension_scores.columns)
    theta = [names.get(d, d) for d in dims]
    order = result.scores.sort_values("rank").index[:MAX_RADAR_UNITS]
    fig = go.Figure()
    for unit in order:
        r = result.dimension_scores.loc[unit, dims].to_list()
        fig.add_trace(
            go.Scatterpolar(
                r=[*r, r[0]], theta=[*theta, theta[0]], name=str(unit), mode="lines+markers"
            )
        )
    fig.update_layout(
        height=480,
        polar={"radialaxis": {"range": [0, 1]}},
        title="Dimension scores per unit (0–1, larger is better)",
        margin={"l": 60, "r": 60, "t": 60, "b": 30},
    )
    return fig


def dimension_heatmap(result: AssessmentResult) -> go.Figure:
    """Heat map of the dimension scores: dimensions × units, units in rank order."""
    names = _dimension_names()
    ordered = result.dimension_scores.loc[result.scores.sort_values("rank").index]
    fig = go.Figure(
        go.Heatmap(
            z=ordered.T.to_numpy(),
            x=[str(u) for u in ordered.index],
            y=[names.get(d, d) for d in ordered.columns],
            zmin=0,
            zmax=1,
            colorscale="RdYlGn",
            colorbar={"title": "score"},
            hovertemplate="%{y}<br>unit %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=360,
        title="Dimension × unit",
        xaxis={"type": "category", "title": "unit (best ranked first)"},
        margin={"l": 220, "r": 20, "t": 60, "b": 60},
    )
    return fig


def trend_figure(result: AssessmentResult) -> go.Figure | None:
    """Score per unit and year (pooled scale); ``None`` with a single year."""
    if result.trend is None:
        return None
    fig = go.Figure()
    years = [int(y) for y in result.trend.columns]
    for unit, row in result.trend.iterrows():
        fig.add_trace(go.Scatter(x=years, y=row.to_list(), name=str(unit), mode="lines+markers"))
    city = result.city_trend()
    if city is not None:
        fig.add_trace(
            go.Scatter(
                x=years,
                y=city.to_list(),
                name="city",
                mode="lines+markers",
                line={"color": "black", "width": 3, "dash": "dash"},
            )
        )
    n_used, n_all = len(result.trend_indicators), len(result.weights)
    subset = "" if n_used == n_all else f"; the {n_used} of {n_all} indicators recorded every year"
    fig.update_layout(
        height=400,
        title=f"Score trends (every year on one scale{subset})",
        xaxis={"title": "year", "dtick": 1},
        yaxis={"title": "score"},
    )
    return fig


def _indicator_labels(result: AssessmentResult) -> dict[str, str]:
    """``name_zh name_en`` per indicator id."""
    table = result.library.table
    return {
        str(i): f"{zh} {en}"
        for i, zh, en in zip(table.index, table["name_zh"], table["name_en"], strict=True)
    }


def _score_table(result: AssessmentResult) -> str:
    names = _dimension_names()
    dims = list(result.dimension_scores.columns)
    rows = []
    ordered = result.scores.sort_values("rank")
    dim_scores = result.dimension_scores.loc[ordered.index, dims].to_numpy()
    for k, (unit, score, place) in enumerate(
        zip(ordered.index, ordered["score"], ordered["rank"], strict=True)
    ):
        cells: list[object] = [str(unit), int(place), f"{score:.3f}"]
        cells += [f"{v:.3f}" for v in dim_scores[k]]
        rows.append(cells)
    head = ["unit", "rank", "score", *[names.get(d, d) for d in dims]]
    caption = (
        f"{result.year}: {result.method} with {result.weight_scheme} weights; city score "
        f"{result.city_score:.3f}"
    )
    return html_table(head, rows, caption=caption)


def _weak_table(result: AssessmentResult) -> str:
    label = _indicator_labels(result)
    spots = result.weak_spots[result.weak_spots["position"] <= TOP_OBSTACLES]
    rows = [
        [
            str(r.unit),
            str(r.position),
            f"{r.indicator} {label[str(r.indicator)]}",
            str(r.dimension),
            f"{r.obstacle:.1%}",
        ]
        for r in spots.itertuples(index=False)
    ]
    return html_table(
        ["unit", "#", "indicator", "dimension", "obstacle degree"],
        rows,
        caption=f"Main obstacles (短板) per unit, top {TOP_OBSTACLES}",
    )


def _weights_table(result: AssessmentResult) -> str:
    label = _indicator_labels(result)
    dims = {str(k): str(v) for k, v in result.library.dimension_of.items()}
    rows = [[str(i), label[str(i)], dims[str(i)], f"{w:.4f}"] for i, w in result.weights.items()]
    return html_table(["indicator", "name", "dimension", "weight"], rows, caption="Weights")


def _maturity_html(maturity: MaturityResult) -> str:
    parts = [f"<h3>Maturity: {esc(maturity.level_name)}</h3>"]
    if maturity.roadmap.empty:
        parts.append('<p class="note">Every criterion of L1–L4 is met.</p>')
        return "".join(parts)
    rows = [
        [str(r.step), f"L{r.level}", f"{r.text_zh} {r.text_en}", str(r.target), str(r.answer)]
        for r in maturity.roadmap.itertuples(index=False)
    ]
    parts.append(
        html_table(
            ["step", "level", "criterion", "target", "answer"],
            rows,
            caption="Roadmap: the unmet criteria of the levels above, lowest level first",
        )
    )
    return "".join(parts)


def _notes(result: AssessmentResult) -> str:
    notes = [
        f"Weakest dimension of the whole city (largest mean obstacle degree): "
        f"{_dimension_names().get(result.weakest_dimension, result.weakest_dimension)}."
    ]
    if result.dropped:
        notes.append(f"Left out for zero variance: {', '.join(result.dropped)}.")
    if result.sensitivity is not None:
        s = result.sensitivity
        notes.append(
            f"Sensitivity ({len(s.weights):,} Dirichlet weight samples, {result.sensitivity_method}):"
            f" {s.reversal_rate:.1%} of unit pairs change order on average; the first-ranked "
            f"unit changes in {s.top_change_rate:.1%} of the samples."
        )
    return "".join(f'<p class="note">{esc(n)}</p>' for n in notes)


def assessment_section(
    result: AssessmentResult, maturity: MaturityResult | None = None, prefix: str = "assessment"
) -> Section:
    """The report section of an assessment (see the module docstring).

    Parameters
    ----------
    result
        The :func:`~resilientcity.assessment.run.assess` result.
    maturity
        The :func:`~resilientcity.assessment.maturity.assess_maturity` result, shown with its
        roadmap when given.
    prefix
        Prefix of the figures' div ids (unique in the page).

    Returns
    -------
    Section
        Titled "Resilience assessment".
    """
    charts = [
        figure_html(radar_figure(result), f"{prefix}-radar"),
        figure_html(dimension_heatmap(result), f"{prefix}-heatmap"),
    ]
    trend = trend_figure(result)
    if trend is not None:
        charts.append(figure_html(trend, f"{prefix}-trend"))
    parts = [
        _score_table(result),
        _notes(result),
        '<div class="charts">' + "".join(charts) + "</div>",
        _weak_table(result),
        _weights_table(result),
    ]
    if maturity is not None:
        parts.append(_maturity_html(maturity))
    return Section("Resilience assessment", "".join(parts))


def render_assessment_page(
    result: AssessmentResult,
    maturity: MaturityResult | None = None,
    title: str = "Resilience assessment",
    facts: Mapping[str, Any] | None = None,
) -> str:
    """A standalone, offline HTML page with the assessment section (Plotly embedded once)."""
    section = assessment_section(result, maturity)
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in (facts or {}).items())
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)} · ResilientCity</title>",
            f"<style>{CSS}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head>",
            "<body>",
            f'<header><h1>{esc(title)}</h1><dl class="facts">{items}</dl></header>',
            f'<main><section id="assessment"><h2>{esc(section.title)}</h2>{section.html}'
            "</section></main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_assessment_page(
    path: str | os.PathLike[str],
    result: AssessmentResult,
    maturity: MaturityResult | None = None,
    title: str = "Resilience assessment",
    facts: Mapping[str, Any] | None = None,
) -> None:
    """Write :func:`render_assessment_page` to ``path`` atomically."""
    text = render_assessment_page(result, maturity, title, facts)
    write_text_atomic(path, text, what="assessment report")
