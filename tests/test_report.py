"""The offline HTML report: content, escaping, aggregation, atomic writing, well-formed HTML."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import plotly.offline
import pytest

import resilientcity as rc
from proc_support import run_in_group
from resilientcity.errors import DataFileError
from resilientcity.report import Section, render_report, write_report
from resilientcity.report import html as report_html
from resilientcity.report.figures import map_figure
from resilientcity.twin import City
from resilientcity.twin.schema import ASSET_KINDS

FACILITY_KINDS = (
    "hospital",
    "shelter",
    "fire_station",
    "warehouse",
    "substation",
    "pump_station",
    "water_plant",
    "telecom",
    "bridge",
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@pytest.fixture(scope="module")
def city() -> City:
    return rc.demo_city("small")


@pytest.fixture(scope="module")
def summary(city: City) -> dict[str, Any]:
    return {
        "generated_at": "2017-07-03T08:00:00+00:00",
        "job": {"kind": "demo", "size": "small"},
        "city": city.summary(),
        "timings_s": {"build city": 1.25, "write report": 0.5},
    }


@pytest.fixture(scope="module")
def page(city: City, summary: dict[str, Any]) -> str:
    extra = Section("Flood hazard <draft>", '<p id="extra-body">stage body</p>')
    return render_report(city, summary, [extra])


@pytest.fixture(scope="module")
def hostile_city(city: City) -> City:
    """The small city renamed and with a hospital whose name is a script tag."""
    assets = city.assets.copy()
    first = assets.index[assets["kind"] == "hospital"][0]
    assets.loc[first, "name"] = "<script>alert('x')</script> 湘雅医院"
    return dataclasses.replace(
        city,
        name="长沙 <script>alert(1)</script>",
        assets=assets,
        metadata={**city.metadata, "attribution": "© OpenStreetMap contributors, ODbL 1.0"},
    )


def trace_names(page: str) -> list[str]:
    """Names of every Plotly trace in the page (decoded from the figures' JSON)."""
    return [json.loads(f'"{m}"') for m in re.findall(r'"name":"((?:[^"\\]|\\.)*)"', page)]


class Nesting(HTMLParser):
    """Checks that every element is closed, in order; collects problems."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
        else:
            self.stack.pop()


def test_plotly_js_is_inline_exactly_once(page: str) -> None:
    assert page.count(plotly.offline.get_plotlyjs()) == 1
    assert page.count("* plotly.js v") == 1
    assert page.count("Plotly.newPlot(") == 3  # map, value by sector, storeys


def test_page_loads_nothing_from_the_network(page: str) -> None:
    assert re.search(r"<script[^>]*\ssrc\s*=", page, flags=re.IGNORECASE) is None
    assert re.search(r"<link\b", page, flags=re.IGNORECASE) is None
    remote = r"<(?:img|iframe|source|embed)[^>]*\s(?:src|href)\s*=\s*[\"']?(?:https?:)?//"
    assert re.search(remote, page, flags=re.IGNORECASE) is None


def test_page_is_well_formed_utf8_html(page: str) -> None:
    parser = Nesting()
    parser.feed(page)
    parser.close()
    assert parser.doctype
    assert parser.problems == []
    assert parser.stack == []
    assert '<meta charset="utf-8">' in page


def test_header_shows_name_crs_extent_time_and_version(page: str, city: City) -> None:
    header = page[page.index("<header>") : page.index("</header>")]
    assert f"<h1>{city.name}</h1>" in header
    assert "EPSG:32649" in header
    assert "8.0 × 8.0 km" in header
    assert "2017-07-03T08:00:00+00:00" in header
    assert rc.__version__ in header


def test_summary_table_has_the_formatted_numbers(page: str, city: City) -> None:
    s = city.summary()
    n_buildings = s["by_kind"]["building"]["count"]

    def row(label: str, value: str) -> str:
        return f'<tr><th scope="row">{label}</th><td class="num">{value}</td></tr>'

    assert row("Assets", f"{s['assets']:,}") in page
    assert row("Buildings", f"{n_buildings:,}") in page
    assert n_buildings >= 1000  # the separator is really exercised
    assert row("Population (residents)", f"{s['population']:,}") in page
    assert row("Road edges", f"{s['roads']['edges']:,}") in page
    assert row("Bridges on the road network (edges)", f"{s['roads']['bridges']:,}") in page
    assert row("Dependencies (dependent → supplier links)", f"{s['dependencies']:,}") in page
    value = s["value"]
    assert f"{value:,.0f} CNY ({value / 1e8:,.2f} 亿 CNY; {value / 1e9:,.2f} billion CNY)" in page
    for zone_type, n in s["zones"].items():
        assert row(f"Zones: {zone_type}", f"{n:,}") in page
    for kind in s["sensors"]:
        assert f"Sensors: {kind}" in page


def test_kind_table_gives_counts_and_capacity_units(page: str, city: City) -> None:
    for kind, v in city.summary()["by_kind"].items():
        unit = ASSET_KINDS[kind][1]
        assert re.search(
            rf'<tr><th scope="row">{kind}</th><td>[a-z_]+</td><td class="num">{v["count"]:,}</td>'
            rf".*?<td>{re.escape(unit)}</td></tr>",
            page,
        ), kind
    for sector in city.summary()["by_sector"]:
        assert f'<tr><th scope="row">{sector}</th>' in page


def test_every_facility_and_sensor_kind_has_a_legend_entry(page: str, city: City) -> None:
    names = trace_names(page)
    present = set(city.assets["kind"])
    for kind in FACILITY_KINDS:
        assert kind in present
        assert any(n.startswith(kind.replace("_", " ") + " (") for n in names), kind
    for kind in set(city.sensors["kind"]):
        assert any(n.startswith(kind.replace("_", " ") + " (") for n in names), kind
    for layer in ("elevation (m)", "hillshade", "districts (", "local roads (", "bridges ("):
        assert any(n.startswith(layer) for n in names), layer
    assert any(n.startswith("residential buildings (") for n in names)


def test_map_has_equal_aspect_in_projected_metres(city: City) -> None:
    fig = map_figure(city)
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.yaxis.scaleratio == 1
    x_min = min(min(t.x) for t in fig.data if t.type == "scattergl")
    assert x_min > 100_000  # UTM metres, not degrees
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert heatmaps
    assert all(max(t.z.shape) <= 400 for t in heatmaps)


def test_buildings_are_drawn_one_by_one_below_the_threshold(city: City) -> None:
    fig = map_figure(city)
    traces = [t for t in fig.data if t.legendgroup == "buildings"]
    assert sum(len(t.x) for t in traces) == int((city.assets["kind"] == "building").sum())


def test_buildings_are_aggregated_to_h3_cells_above_the_threshold(city: City) -> None:
    fig = map_figure(city, max_buildings=100)
    names = [t.name for t in fig.data]
    assert not any("buildings (" in n for n in names)
    cells = [t for t in fig.data if "H3 cells (" in t.name and t.type == "scattergl"]
    assert cells
    buildings = city.assets[city.assets["kind"] == "building"]
    assert sum(len(t.x) for t in cells) == buildings["cell_id"].nunique()
    outline = next(t for t in fig.data if t.name.startswith("H3 cells ("))
    assert outline.visible is True
    page = render_report(city, {}, max_buildings=100)
    assert "H3 cells (" in "".join(trace_names(page))


def test_buildings_without_a_cell_are_aggregated_to_a_grid(city: City) -> None:
    assets = city.assets.copy()
    assets["cell_id"] = ""
    no_cells = dataclasses.replace(city, assets=assets)
    fig = map_figure(no_cells, max_buildings=100)
    texts = [
        s for t in fig.data if "H3 cells (" in t.name and t.type == "scattergl" for s in t.text
    ]
    assert texts
    assert all(s.startswith("grid ") for s in texts)


def test_strings_from_data_are_escaped_and_chinese_is_text(hostile_city: City) -> None:
    page = render_report(hostile_city, {})
    assert "<script>alert" not in page.lower()
    assert "<h1>长沙 &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert (
        "<title>长沙 &lt;script&gt;alert(1)&lt;/script&gt; · ResilientCity report</title>" in page
    )
    # The hospital's name reaches the map's hover text HTML-escaped (then JSON-encoded).
    hover = [
        json.loads(f'"{m}"') for m in re.findall(r'"([^"]*alert\(&#x27;x&#x27;\)[^"]*)"', page)
    ]
    assert hover
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 湘雅医院" in hover[0]
    assert "湘江 Xiang River" in trace_names(page)
    assert "<strong>Data:</strong> © OpenStreetMap contributors, ODbL 1.0" in page


def test_sections_and_timings_are_added(page: str, city: City) -> None:
    assert '<h2>Flood hazard &lt;draft&gt;</h2>\n<p id="extra-body">stage body</p>' in page
    assert page.index("<h2>Flood hazard") > page.index('id="twin-assets"')
    assert '<tr><th scope="row">build city</th><td class="num">1.25</td></tr>' in page
    assert '<tfoot><tr><th scope="row">Total</th><td class="num">1.75</td></tr></tfoot>' in page
    bare = render_report(city, {})
    assert 'id="timings"' not in bare
    assert "Generated at" not in bare


def test_footer_has_the_synthetic_note(page: str, city: City) -> None:
    footer = page[page.index("<footer>") : page.index("</footer>")]
    assert city.metadata["note"] in footer
    assert "synthetic" in footer


def test_small_report_size_is_reasonable(page: str) -> None:
    assert len(page.encode("utf-8")) < 8_000_000


def test_write_report_creates_the_file(tmp_path: Path, city: City, summary: dict[str, Any]) -> None:
    target = tmp_path / "report.html"
    write_report(target, city, summary)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text == render_report(city, summary)  # deterministic
    assert list(tmp_path.iterdir()) == [target]


def test_write_report_leaves_nothing_when_rendering_fails(
    tmp_path: Path, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(report_html, "render_report", broken)
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError, match="render failed"):
        write_report(target, city, {})
    assert list(tmp_path.iterdir()) == []
    target.write_text("previous report", encoding="utf-8")
    with pytest.raises(RuntimeError):
        write_report(target, city, {})
    assert target.read_text(encoding="utf-8") == "previous report"
    assert list(tmp_path.iterdir()) == [target]


def test_write_report_leaves_nothing_when_writing_fails(
    tmp_path: Path, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    target = tmp_path / "report.html"
    with pytest.raises(DataFileError, match="disk full"):
        write_report(target, city, {})
    assert list(tmp_path.iterdir()) == []


def test_write_report_to_a_missing_folder_raises(tmp_path: Path, city: City) -> None:
    with pytest.raises(DataFileError, match="cannot write report"):
        write_report(tmp_path / "missing" / "report.html", city, {})


def test_report_opens_in_headless_chromium(tmp_path: Path, page: str) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    target = tmp_path / "report.html"
    target.write_text(page, encoding="utf-8")
    result = run_in_group(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            target.as_uri(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count('class="plot-container plotly"') == 3
    assert "湘江 Xiang River" in dom  # the map's legend, drawn as text
    assert "Uncaught" not in result.stderr


def test_markup_helpers_escape_and_align_numbers() -> None:
    from resilientcity.report.markup import esc, fmt_cny, fmt_num, html_table

    assert esc('<b a="1">') == "&lt;b a=&quot;1&quot;&gt;"
    assert (fmt_num(1234.5), fmt_num(12.34), fmt_num(3.0)) == ("1,234", "12.3", "3")
    assert fmt_cny(2.5e8) == "250,000,000 CNY (2.50 亿 CNY; 0.25 billion CNY)"
    table = html_table(["name", "count", "note"], [["<a>", "1,200", "x"]], caption="c&d")
    assert "<caption>c&amp;d</caption>" in table
    assert '<th scope="col" class="num">count</th><th scope="col">note</th>' in table
    assert '<th scope="row">&lt;a&gt;</th><td class="num">1,200</td><td>x</td>' in table
