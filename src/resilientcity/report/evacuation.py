"""The report's decision section (so far): the evacuation of the displaced to shelters."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from resilientcity.decision.dispatch import DispatchPlan
from resilientcity.decision.evacuation import EvacuationPlan
from resilientcity.report.figures import CHART_LAYOUT
from resilientcity.report.html import Section, figure_html
from resilientcity.report.markup import fmt_num, html_table

__all__ = ["TOP_ROWS", "evacuation_section", "plans_section", "shelter_fill_figure"]

#: Rows of the flow and assignment tables in the report.
TOP_ROWS = 20


def shelter_fill_figure(plan: EvacuationPlan, top: int = 30) -> go.Figure:
    """Bars of the people assigned to each shelter against its capacity (busiest first)."""
    s = plan.shelters.sort_values("assigned_people", ascending=False).head(top)
    labels = [html.escape(str(i)) for i in s["shelter_id"]]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=s["capacity_people"].to_numpy(), name="capacity",
                   marker_color="#c7e9c0"),
            go.Bar(x=labels, y=s["assigned_people"].to_numpy(), name="assigned",
                   marker_color="#238b45"),
        ]
    )  # fmt: skip
    fig.update_layout(
        CHART_LAYOUT,
        barmode="overlay",
        title="Shelter fill (busiest shelters)",
        yaxis_title="people",
        legend={"x": 0.75, "y": 0.98},
    )
    return fig


def _dispatch_table(dispatch: DispatchPlan) -> str:
    t = dispatch.totals
    rows = [
        [
            "incidents (collapsed or deeply flooded occupied buildings)",
            fmt_num(len(dispatch.incidents)),
        ],
        ["served", fmt_num(t["served"])],
        ["not served", fmt_num(t["unserved"])],
        ["mean response (minutes, on the damaged roads)", fmt_num(t["mean_response_min"])],
    ]
    reasons = dispatch.incidents["reason"].astype(str)
    for reason, n in reasons[reasons != ""].value_counts().items():
        rows.append([f"not served: {str(reason).replace('_', ' ')}", fmt_num(n)])
    out = html_table(["rescue dispatch", "value"], rows, caption="Rescue teams to incidents")
    a = dispatch.assignments.sort_values("travel_min").head(TOP_ROWS)
    assigned = [
        [str(s), str(i), fmt_num(n), fmt_num(m)]
        for s, i, n, m in zip(a["station_id"], a["incident_id"], a["teams"], a["travel_min"],
                              strict=True)
    ]  # fmt: skip
    if assigned:
        out += html_table(["station", "incident", "teams", "travel (min)"], assigned,
                      caption=f"Dispatch assignments (first {len(assigned)} by travel time)")  # fmt: skip
    return out


def _flows_table(plan: EvacuationPlan) -> str:
    f = plan.flows.sort_values("people", ascending=False).head(TOP_ROWS)
    rows = [
        [str(o), str(s), fmt_num(p), fmt_num(m)]
        for o, s, p, m in zip(f["origin_id"], f["shelter_id"], f["people"], f["travel_min"],
                              strict=True)
    ]  # fmt: skip
    if not rows:
        return ""
    return html_table(["from (road node)", "to shelter", "people", "travel (min)"], rows,
                  caption=f"Evacuation flows (the {len(rows)} largest)")  # fmt: skip


def evacuation_section(plan: EvacuationPlan, dispatch: DispatchPlan | None = None) -> Section:
    """Totals, unsheltered people by reason and the shelters' fill; rescue dispatch totals."""
    t = plan.totals
    rows = [
        ["people to shelter (displaced residents)", fmt_num(t["people"])],
        ["sheltered", fmt_num(t["sheltered"])],
        [
            "not sheltered: no open road to a functioning shelter",
            fmt_num(t["unsheltered_isolated"]),
        ],
        ["not sheltered: shelters full", fmt_num(t["unsheltered_capacity"])],
        ["mean trip (minutes, on the damaged roads)", fmt_num(t["mean_travel_min"])],
    ]
    parts = [
        '<p class="note">The displaced residents go to the functioning shelters within capacity '
        "by the least total person-minutes (HiGHS, solved to optimality).</p>",
        html_table(["evacuation", "value"], rows, caption="Evacuation to shelters"),
        figure_html(shelter_fill_figure(plan), "shelter-fill"),
        _flows_table(plan),
    ]
    if dispatch is not None:
        parts.append(_dispatch_table(dispatch))
    return Section("Decisions: evacuation and rescue", "\n".join(parts))


def _zh_en(zh: object, en: object) -> str:
    """``"中文 English"``, or the English alone where the plan has no Chinese (zh is the en)."""
    return str(en) if zh == en else f"{zh} {en}"


def plans_section(fired: pd.DataFrame, tasks: pd.DataFrame) -> Section:
    """The contingency plans (预案) that fire, why, and the tasks they create per agency."""
    if fired.empty:
        body = '<p class="note">No contingency plan fires for this scenario.</p>'
        return Section("Decisions: contingency plans", body)
    plan_rows = [
        [str(pid), str(level), _zh_en(zh, en), str(reason), str(n)]
        for pid, level, zh, en, reason, n in zip(
            fired.index, fired["level"], fired["name_zh"], fired["name_en"], fired["reason"],
            fired["n_tasks"], strict=True,
        )
    ]  # fmt: skip
    task_rows = [
        [str(plan), str(task), f"{agency_zh} ({agency})", f"{float(deadline):g}", _zh_en(zh, en),
         ", ".join(str(d) for d in (after if isinstance(after, list | tuple) else ()))]
        for plan, task, agency, agency_zh, deadline, zh, en, after in zip(
            tasks["plan"], tasks["task"], tasks["agency"], tasks["agency_zh"], tasks["deadline_h"],
            tasks["text_zh"], tasks["text_en"], tasks["depends_on"], strict=True,
        )
    ]  # fmt: skip
    parts = [
        html_table(["plan", "response level", "name", "why it fires", "tasks"], plan_rows,
               caption="Contingency plans that fire"),
        html_table(["plan", "task", "agency", "deadline (h)", "task text", "after"], task_rows,
               caption="Tasks created, in dependency order"),
    ]  # fmt: skip
    return Section("Decisions: contingency plans", "\n".join(parts))
