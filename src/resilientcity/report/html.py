"""The self-contained, offline HTML report of a run: the city twin first, then pipeline sections.

The page is one UTF-8 file with its own ``<style>`` and Plotly's JavaScript embedded once, so it
opens without a network. Every string that comes from data is HTML-escaped; the ``html`` of a
:class:`Section` is the only markup taken as given, and is the caller's responsibility.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from resilientcity._files import write_text_atomic
from resilientcity.money import fmt_money, money_scale
from resilientcity.report.figures import (
    MAX_BUILDINGS,
    map_figure,
    sector_value_figure,
    storeys_figure,
)
from resilientcity.report.markup import esc, fmt_num, html_table
from resilientcity.twin.city import City
from resilientcity.twin.schema import ASSET_KINDS, SENSOR_KINDS

__all__ = ["Section", "figure_html", "render_report", "write_report"]

#: Plotly options of every figure: no logo, no links out, scroll to zoom the map.
PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --band: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC",
    "Microsoft YaHei", sans-serif; }
header, main, footer { max-width: 1400px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 3px solid var(--accent); }
h1 { margin: 0 0 4px; font-size: 1.7rem; }
h2 { margin: 32px 0 12px; font-size: 1.3rem; border-bottom: 1px solid var(--line); }
h3 { margin: 20px 0 8px; font-size: 1.05rem; }
.lede { margin: 0 0 12px; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav { margin: 0 0 12px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; margin: 0 0 16px; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); padding: 0 0 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: var(--band); border-bottom: 2px solid var(--line); }
tfoot th, tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
td.num, th.num { text-align: right; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 4px; min-width: 0; }
.note { color: var(--muted); font-size: 0.9rem; }
footer { margin-top: 40px; padding: 16px 24px 32px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 0.9rem; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
footer dd { margin: 0; }
"""


@dataclass(frozen=True)
class Section:
    """A part of the report added by a pipeline stage (hazard, impact, recovery, …).

    Parameters
    ----------
    title
        Heading of the section, plain text (escaped when rendered).
    html
        Body of the section: trusted HTML, inserted as it is. Escape data strings in it with
        :func:`html.escape`; put figures in it with :func:`figure_html`.
    """

    title: str
    html: str


def figure_html(fig: go.Figure, div_id: str, *, include_plotlyjs: bool = False) -> str:
    """A ``<div>`` that draws a Plotly figure, for the body of a :class:`Section`.

    The report embeds Plotly's JavaScript once, with its first figure, so section figures
    leave it out (the default).

    Parameters
    ----------
    fig
        The figure; its ``layout.height`` (px) sets the height of the div (400 when unset).
    div_id
        Id of the div, unique in the page (letters, digits, ``-`` and ``_``).
    include_plotlyjs
        Embed Plotly's JavaScript before the figure (only the report's first figure does).
    """
    height = fig.layout.height or 400
    text: str = pio.to_html(
        fig,
        config=PLOTLY_CONFIG,
        include_plotlyjs=include_plotlyjs,
        full_html=False,
        default_width="100%",
        default_height=f"{height}px",
        div_id=div_id,
    )
    return f'<div class="figure">{text}</div>'


def render_report(
    city: City,
    summary: Mapping[str, Any],
    sections: Sequence[Section] = (),
    *,
    max_buildings: int = MAX_BUILDINGS,
) -> str:
    """The report of a run as one self-contained HTML page.

    Parameters
    ----------
    city
        The city twin of the run (drawn on the map, its metadata in the footer).
    summary
        The run's summary (what the CLI writes to ``summary.json``): ``"city"`` holds
        :meth:`City.summary` (computed when missing), ``"generated_at"`` an ISO timestamp,
        ``"job"`` the job's parameters and ``"timings_s"`` seconds per step; all optional.
    sections
        Further sections, in order, after the twin's.
    max_buildings
        Above this many buildings the map aggregates them to H3 cells.

    Returns
    -------
    str
        The HTML text (UTF-8 declared), with Plotly's JavaScript inline exactly once.
    """
    from resilientcity import __version__

    twin: Mapping[str, Any] = summary.get("city") or city.summary()
    name = str(twin.get("name", city.name))
    currency = str(twin.get("currency") or city.profile.currency)
    figures = [("twin-map", map_figure(city, max_buildings=max_buildings))]
    by_sector = twin.get("by_sector", {})
    figures.append(("twin-sector-value", sector_value_figure(by_sector, currency)))
    storeys = storeys_figure(city)
    if storeys is not None:
        figures.append(("twin-storeys", storeys))
    divs = {
        div_id: figure_html(fig, div_id, include_plotlyjs=i == 0)
        for i, (div_id, fig) in enumerate(figures)
    }
    extra = [(f"section-{i + 1}", s) for i, s in enumerate(sections)]
    timings = summary.get("timings_s") or {}
    nav = [("twin-summary", "Summary"), ("twin-region", "Region"), ("twin-map-section", "Map")]
    nav.append(("twin-assets", "Assets"))
    nav += [(anchor, s.title) for anchor, s in extra]
    if timings:
        nav.append(("timings", "Timings"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="resilientcity {esc(__version__)}">',
        f"<title>{esc(name)} · ResilientCity report</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{esc(name)}</h1>",
        '<p class="lede">City digital-twin report by ResilientCity '
        "(韧性城市大脑); it works offline.</p>",
        _facts(city, twin, summary, __version__),
        "<nav>" + "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in nav) + "</nav>",
        "</header>",
        "<main>",
        '<section id="twin-summary">',
        "<h2>The city twin at a glance</h2>",
        _summary_table(twin),
        "</section>",
        '<section id="twin-region">',
        "<h2>Regional profile and the defaults it gives</h2>",
        _region_table(twin.get("region", {})),
        _import_defaults_table(city.metadata.get("osm_defaults")),
        "</section>",
        '<section id="twin-map-section">',
        "<h2>Map by asset kind</h2>",
        '<p class="note">Click a legend entry to show or hide its layer, a group title to '
        "toggle the group; scroll to zoom, drag to pan, hover for details.</p>",
        divs["twin-map"],
        "</section>",
        '<section id="twin-assets">',
        "<h2>Assets</h2>",
        _kind_table(twin.get("by_kind", {}), currency),
        _sector_table(twin.get("by_sector", {}), currency),
        '<div class="charts">' + "".join(v for k, v in divs.items() if k != "twin-map") + "</div>",
        "</section>",
    ]
    for anchor, section in extra:
        parts += [f'<section id="{anchor}">', f"<h2>{esc(section.title)}</h2>", section.html]
        parts.append("</section>")
    if timings:
        parts += ['<section id="timings">', "<h2>Timings</h2>", _timings_table(timings)]
        parts.append("</section>")
    parts += ["</main>", _footer(city, __version__), "</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(
    path: str | os.PathLike[str],
    city: City,
    summary: Mapping[str, Any],
    sections: Sequence[Section] = (),
    *,
    max_buildings: int = MAX_BUILDINGS,
) -> None:
    """Render the report and write it to ``path`` atomically.

    The page is rendered first, then written to a temporary file in the same folder and
    renamed over ``path``: a failure leaves ``path`` as it was and no temporary file behind.

    Parameters
    ----------
    path
        The HTML file to write (its folder must exist).
    city, summary, sections, max_buildings
        As for :func:`render_report`.

    Raises
    ------
    DataFileError
        The file could not be written.
    """
    text = render_report(city, summary, sections, max_buildings=max_buildings)
    write_text_atomic(path, text, what="report")


def _facts(city: City, twin: Mapping[str, Any], summary: Mapping[str, Any], version: str) -> str:
    """The header's key facts: CRS, extent, generation time, versions, the job."""
    extent = twin.get("extent_km") or [0, 0]
    if city.dem is not None:
        minx, miny, maxx, maxy = city.dem.bounds
    elif len(city.assets):
        minx, miny, maxx, maxy = city.assets.total_bounds
    else:
        minx = miny = maxx = maxy = 0.0
    facts = [
        ("CRS", twin.get("crs", city.crs.to_string())),
        (
            "Extent",
            f"{extent[0]:,} × {extent[1]:,} km (x {minx:,.0f}–{maxx:,.0f} m, "
            f"y {miny:,.0f}–{maxy:,.0f} m)",
        ),
    ]
    if summary.get("generated_at"):
        facts.append(("Generated at", summary["generated_at"]))
    facts.append(("ResilientCity version", version))
    job = summary.get("job")
    if isinstance(job, Mapping) and job:
        facts.append(("Job", ", ".join(f"{k} {v}" for k, v in job.items())))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def _summary_table(twin: Mapping[str, Any]) -> str:
    """People, value, networks, zones, sensors and the DEM in one two-column table."""
    roads = twin.get("roads", {})
    by_kind = twin.get("by_kind", {})
    rows: list[tuple[str, str]] = [
        ("Assets", fmt_num(twin.get("assets", 0))),
        ("Buildings", fmt_num(by_kind.get("building", {}).get("count", 0))),
        ("Population (residents)", fmt_num(twin.get("population", 0))),
        ("Occupants of all assets", fmt_num(twin.get("occupants", 0))),
        ("Total replacement value", fmt_money(twin.get("value", 0.0), twin.get("currency", ""))),
        ("Road nodes", fmt_num(roads.get("nodes", 0))),
        ("Road edges", fmt_num(roads.get("edges", 0))),
        ("Road length (km)", f"{float(roads.get('length_km', 0.0)):,.1f}"),
        ("Bridges on the road network (edges)", fmt_num(roads.get("bridges", 0))),
        ("Dependencies (dependent → supplier links)", fmt_num(twin.get("dependencies", 0))),
        ("Rivers", fmt_num(twin.get("rivers", 0))),
    ]
    rows += [(f"Zones: {k}", fmt_num(v)) for k, v in twin.get("zones", {}).items()]
    for kind, n in twin.get("sensors", {}).items():
        prop, unit = SENSOR_KINDS.get(kind, ("", ""))
        what = f" ({prop}, {unit})" if prop else ""
        rows.append((f"Sensors: {kind}{what}", fmt_num(n)))
    dem = twin.get("dem")
    if dem:
        shape = dem.get("shape", [0, 0])
        rows.append(
            (
                "DEM",
                f"{shape[0]:,} × {shape[1]:,} cells of {float(dem.get('resolution_m', 0)):g} m, "
                f"ground {float(dem.get('min_m', 0)):,.1f} to {float(dem.get('max_m', 0)):,.1f} m",
            )
        )
    return html_table(("Item", "Value"), rows)


def _region_table(region: Mapping[str, Any]) -> str:
    """Every field of the regional profile with its value and its source (or assumption)."""
    sources = region.get("sources", {})
    rows = []
    for key, value in region.items():
        if key in ("sources", "agencies") or value in ("", None, [], {}):
            continue
        shown = (
            ", ".join(f"{k}: {fmt_num(v)}" for k, v in value.items())
            if key == "construction_cost_per_m2"
            else json.dumps(value, ensure_ascii=False)
            if isinstance(value, (dict, list))
            else str(value)
        )
        rows.append((key, shown, str(sources.get(key, ""))))
    agencies = region.get("agencies", {})
    if agencies:
        listed = "; ".join(f"{k}: {v}" for k, v in agencies.items())
        rows.append(("agencies", listed, str(sources.get("agencies", ""))))
    caption = (
        "What the city's regional profile says where its data are silent (resilientcity.region)"
    )
    return html_table(("Field", "Value", "Source or assumption"), rows, caption)


def _import_defaults_table(used: object) -> str:
    """The OpenStreetMap importer's defaults the twin was built with, each with its source.

    Empty for a twin that was not imported (no ``osm_defaults`` in its metadata).
    """
    if not isinstance(used, Mapping):
        return ""
    from resilientcity.twin.osm_defaults import packaged_sources

    sources = packaged_sources()
    rows = []
    for key, value in used.items():
        shown = _plain(value)
        shown = shown if len(shown) <= 240 else shown[:237] + "…"
        rows.append((key, shown, sources.get(key, "")))
    caption = (
        "The importer's defaults the twin was built with (data/osm_defaults.json, costs and "
        "lifeline values in the regional profile's conventions)"
    )
    return html_table(("Default", "Value used", "Source or assumption"), rows, caption)


def _kind_table(by_kind: Mapping[str, Mapping[str, float]], currency: str) -> str:
    """Count, occupants, value and capacity (with its unit) per asset kind."""
    divisor, unit_label = money_scale(currency)
    rows = []
    for kind, v in by_kind.items():
        sector, unit = ASSET_KINDS.get(kind, ("", ""))
        value = float(v.get("value", 0.0))
        rows.append(
            (
                kind,
                sector,
                fmt_num(v.get("count", 0)),
                fmt_num(v.get("occupants", 0.0)),
                f"{value:,.0f}",
                f"{value / divisor:,.2f}",
                fmt_num(v.get("capacity", 0.0)),
                unit,
            )
        )
    total = (
        "All kinds",
        "",
        fmt_num(sum(float(v.get("count", 0)) for v in by_kind.values())),
        fmt_num(sum(float(v.get("occupants", 0.0)) for v in by_kind.values())),
        f"{sum(float(v.get('value', 0.0)) for v in by_kind.values()):,.0f}",
        f"{sum(float(v.get('value', 0.0)) for v in by_kind.values()) / divisor:,.2f}",
        "",
        "",
    )
    head = (
        "Kind",
        "Usual sector",
        "Count",
        "Occupants",
        f"Value ({currency})",
        f"Value ({unit_label})",
        "Capacity",
        "Capacity unit",
    )
    return html_table(head, rows, "By asset kind", foot=total)


def _sector_table(by_sector: Mapping[str, Mapping[str, float]], currency: str) -> str:
    """Assets, value and share of value per sector."""
    divisor, unit_label = money_scale(currency)
    total = sum(float(v.get("value", 0.0)) for v in by_sector.values()) or 1.0
    rows = [
        (
            sector,
            fmt_num(v.get("count", 0)),
            f"{float(v.get('value', 0.0)):,.0f}",
            f"{float(v.get('value', 0.0)) / divisor:,.2f}",
            f"{100 * float(v.get('value', 0.0)) / total:.1f}%",
        )
        for sector, v in by_sector.items()
    ]
    head = ("Sector", "Assets", f"Value ({currency})", f"Value ({unit_label})", "Share of value")
    return html_table(head, rows, "By sector")


def _timings_table(timings: Mapping[str, float]) -> str:
    rows = [(step, f"{float(s):,.2f}") for step, s in timings.items()]
    total = ("Total", f"{sum(float(s) for s in timings.values()):,.2f}")
    return html_table(("Step", "Seconds"), rows, foot=total)


def _footer(city: City, version: str) -> str:
    """Data attribution, the source and notes of the twin, and the software that drew it."""
    meta = {k: v for k, v in city.metadata.items() if k not in ("osm_defaults", "region")}
    lines = []
    if meta.get("attribution"):
        lines.append(f"<p><strong>Data:</strong> {esc(meta.pop('attribution'))}</p>")
    if meta.get("source"):
        lines.append(f"<p><strong>Source:</strong> {esc(meta.pop('source'))}</p>")
    if meta.get("note"):
        lines.append(f"<p><strong>Note:</strong> {esc(meta.pop('note'))}</p>")
    if meta:
        items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(_plain(v))}</dd>" for k, v in meta.items())
        lines.append(f"<details><summary>Twin metadata</summary><dl>{items}</dl></details>")
    lines.append(
        f"<p>Generated by ResilientCity {esc(version)} (Apache-2.0). Charts by Plotly.js (MIT), "
        "embedded in this file so that it opens without a network.</p>"
    )
    return "<footer>" + "".join(lines) + "</footer>"


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
