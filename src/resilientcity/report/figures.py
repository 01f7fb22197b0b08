"""Plotly figures of the city twin for the HTML report: the map and two small charts.

The map is in the city's projected metres with equal aspect; its layers, bottom to top: the DEM
(elevation colours under a hillshade), rivers, district and H3 cell outlines, roads (major classes
thicker, bridges highlighted), buildings by occupancy (each one, or aggregated to H3 cells when
many), facilities and sensors by kind. Every legend entry toggles its layer. Strings from data
are HTML-escaped before they reach Plotly, whose labels understand a little HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from numpy.typing import NDArray

from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.schema import ASSET_KINDS

__all__ = [
    "CHART_LAYOUT",
    "MAX_BUILDINGS",
    "MAX_DEM_CELLS",
    "base_traces",
    "map_figure",
    "map_layout",
    "points_xy",
    "sector_value_figure",
    "storeys_figure",
]

#: Above this many buildings the map shows them aggregated to H3 cells, not one by one.
MAX_BUILDINGS = 20_000
#: The DEM is drawn on at most this many cells along each side.
MAX_DEM_CELLS = 400
#: Side (m) of the square cells that buildings without an H3 cell are aggregated to.
GRID_M = 1000.0
#: The storeys chart counts taller buildings at this many storeys.
MAX_STOREYS = 120
#: Vertical exaggeration of the hillshade (the demo city is mostly flat floodplain).
HILLSHADE_Z_FACTOR = 3.0

FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"

OCCUPANCY_COLOURS: dict[str, str] = {
    "residential": "#f28e2b",
    "commercial": "#4e79a7",
    "industrial": "#9c755f",
    "public": "#59a14f",
    "infrastructure": "#76b7b2",
}

#: Marker symbol, colour and size of every asset kind other than buildings.
KIND_STYLE: dict[str, tuple[str, str, int]] = {
    "hospital": ("cross", "#d62728", 13),
    "clinic": ("cross", "#ff9896", 10),
    "shelter": ("square", "#2ca02c", 10),
    "school": ("pentagon", "#98df8a", 10),
    "fire_station": ("triangle-up", "#ff7f0e", 12),
    "police_station": ("hexagon", "#1f3b99", 11),
    "government": ("octagon", "#7f7f7f", 11),
    "warehouse": ("diamond", "#8c564b", 12),
    "substation": ("star", "#9467bd", 13),
    "feeder": ("circle", "#c5b0d5", 6),
    "power_plant": ("star", "#6a3d9a", 15),
    "water_plant": ("hexagon", "#1f77b4", 14),
    "pump_station": ("diamond", "#17becf", 11),
    "wastewater_plant": ("hexagon", "#5f9ea0", 13),
    "bridge": ("square", "#c2185b", 9),
    "road_segment": ("circle", "#bdbdbd", 5),
    "telecom": ("triangle-down", "#e377c2", 11),
    "data_centre": ("square", "#bcbd22", 11),
}

#: Marker symbol and colour of every sensor kind.
SENSOR_STYLE: dict[str, tuple[str, str]] = {
    "river_gauge": ("triangle-up-open", "#08519c"),
    "rain_gauge": ("circle-open", "#3182bd"),
    "underpass_level": ("square-open", "#6baed6"),
    "substation_monitor": ("diamond-open", "#54278f"),
    "seismometer": ("star-open", "#a50f15"),
    "wind_gauge": ("cross-open", "#006d2c"),
}

#: Road tiers, drawn in this order: legend name, road classes, colour, line width (px).
ROAD_TIERS: tuple[tuple[str, frozenset[str], str, float], ...] = (
    ("local roads", frozenset({"residential", "service", "unclassified"}), "#a3a3a3", 0.8),
    ("primary–tertiary roads", frozenset({"primary", "secondary", "tertiary"}), "#e3a33b", 2.0),
    ("motorways and trunk roads", frozenset({"motorway", "trunk"}), "#d9622b", 3.5),
)
BRIDGE_COLOUR = "#c2185b"

#: Elevation colours: floodplain greens to hill tans.
ELEVATION_COLOURS = [
    [0, "#e3eed2"],
    [0.25, "#cfe0b0"],
    [0.5, "#d8d3a1"],
    [0.75, "#cdb98f"],
    [1, "#f2ece0"],
]
#: Hillshade 0–255 as translucent black (shade) to transparent (flat ground) to light.
HILLSHADE_COLOURS = [
    [0, "rgba(40,40,40,0.55)"],
    [0.7, "rgba(40,40,40,0)"],
    [1, "rgba(255,255,255,0.35)"],
]

_OCCUPANCY = {k: {"color": c} for k, c in OCCUPANCY_COLOURS.items()}
_KINDS = {k: {"symbol": s, "color": c, "size": n} for k, (s, c, n) in KIND_STYLE.items()}
_SENSORS = {k: {"symbol": s, "color": c} for k, (s, c) in SENSOR_STYLE.items()}

FloatArray = NDArray[np.float64]


def map_figure(city: City, max_buildings: int = MAX_BUILDINGS) -> go.Figure:
    """The map of the city by asset kind, over its terrain, rivers, boundaries and roads.

    Parameters
    ----------
    city
        The twin to draw (coordinates stay in its projected CRS, metres).
    max_buildings
        With more buildings than this, buildings are aggregated to the city's H3 cells (zones of
        type ``"h3"``; buildings outside them to ``GRID_M`` squares) and drawn as one marker per
        cell, sized by occupants and coloured by the most common occupancy.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces grouped in the legend (terrain, water, boundaries, roads, buildings, facilities,
        sensors); district names as annotations.
    """
    assets = city.assets
    ax, ay = points_xy(assets.geometry)
    is_building = (assets["kind"] == "building").to_numpy()
    aggregated = int(is_building.sum()) > max_buildings
    traces = base_traces(city, aggregated)
    b, bx, by = assets[is_building], ax[is_building], ay[is_building]
    traces += (
        _building_cell_traces(b, bx, by, city.zones) if aggregated else _building_traces(b, bx, by)
    )
    traces += _facility_traces(assets[~is_building], ax[~is_building], ay[~is_building])
    traces += _sensor_traces(city.sensors)
    return map_layout(go.Figure(data=traces), city)


def base_traces(city: City, aggregated: bool) -> list[go.Scatter | go.Scattergl | go.Heatmap]:
    """The base of every map: terrain, rivers, district (and, if ``aggregated``, H3) outlines, roads."""
    traces: list[go.Scatter | go.Scattergl | go.Heatmap] = []
    if city.dem is not None:
        traces += _dem_traces(city.dem)
    traces += _river_traces(city.rivers)
    traces += _zone_traces(city.zones, aggregated)
    traces += _road_traces(city)
    return traces


def map_layout(fig: go.Figure, city: City) -> go.Figure:
    """Lay out a map of ``city``: projected metres, equal aspect, pan and zoom, district names."""
    crs = html.escape(city.crs.to_string())
    axis = {"showgrid": False, "zeroline": False, "tickformat": ",.0f", "constrain": "domain"}
    fig.update_layout(
        height=860,
        margin={"l": 70, "r": 10, "t": 10, "b": 110},
        font={"family": FONT, "size": 12},
        template="plotly_white",
        plot_bgcolor="#f4f1ea",
        hovermode="closest",
        dragmode="pan",
        xaxis={"title": f"x (m, {crs})", **axis},
        yaxis={"title": f"y (m, {crs})", "scaleanchor": "x", "scaleratio": 1, **axis},
        legend={"groupclick": "toggleitem", "itemsizing": "constant", "tracegroupgap": 6},
        annotations=_district_labels(city.zones),
    )
    return fig


def sector_value_figure(by_sector: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Horizontal bars of replacement value (亿 CNY) per sector, largest on top.

    Parameters
    ----------
    by_sector
        ``{sector: {"count": assets, "value": CNY}}``, as in ``City.summary()["by_sector"]``.
    """
    rows = sorted(by_sector.items(), key=lambda kv: float(kv[1].get("value", 0.0)))
    fig = go.Figure(
        go.Bar(
            x=[float(v.get("value", 0.0)) / 1e8 for _, v in rows],
            y=[html.escape(k) for k, _ in rows],
            customdata=[int(v.get("count", 0)) for _, v in rows],
            orientation="h",
            marker_color="#4e79a7",
            hovertemplate="%{y}: %{x:,.1f} 亿 CNY (%{customdata:,} assets)<extra></extra>",
        )
    )
    fig.update_layout(CHART_LAYOUT, title="Replacement value by sector", xaxis_title="亿 CNY")
    return fig


def storeys_figure(city: City) -> go.Figure | None:
    """Bars of buildings per number of storeys, taller ones at ``MAX_STOREYS`` (``None`` if none)."""
    b = city.assets[city.assets["kind"] == "building"]
    if b.empty:
        return None
    storeys = np.clip(b["storeys"].to_numpy(dtype=np.int64), 0, MAX_STOREYS)
    count = np.bincount(storeys)
    area = np.bincount(storeys, weights=b["floor_area_m2"].to_numpy(dtype=np.float64))
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(count)),
            y=count,
            customdata=np.round(area / 1e4, 1),
            marker_color="#f28e2b",
            hovertemplate="%{x} storeys: %{y:,} buildings, %{customdata:,.1f} ha floor area"
            "<extra></extra>",
        )
    )
    fig.update_layout(title="Buildings by number of storeys", bargap=0.1)
    fig.update_layout(CHART_LAYOUT, xaxis_title="storeys", yaxis_title="buildings")
    return fig


CHART_LAYOUT: dict[str, Any] = {
    "height": 360,
    "margin": {"l": 60, "r": 10, "t": 50, "b": 50},
    "font": {"family": FONT, "size": 12},
    "template": "plotly_white",
    "showlegend": False,
}


def points_xy(geoms: Sequence[Any] | pd.Series) -> tuple[FloatArray, FloatArray]:
    """The x and y of a point on each geometry (the point itself for points; NaN for empty)."""
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.get_x(pts), shapely.get_y(pts)


def _lines_xy(geoms: Sequence[Any] | pd.Series) -> tuple[FloatArray, FloatArray]:
    """Vertices of lines (polygons: their rings), each line ended by a NaN gap."""
    arr = np.asarray(geoms, dtype=object)
    polygonal = np.isin(shapely.get_type_id(arr), (3, 6))
    parts = shapely.get_parts(np.where(polygonal, shapely.boundary(arr), arr))
    if len(parts) == 0:
        return np.empty(0), np.empty(0)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    ends = np.r_[np.flatnonzero(np.diff(index)) + 1, len(coords)]
    return np.insert(coords[:, 0], ends, np.nan), np.insert(coords[:, 1], ends, np.nan)


def _f32(values: FloatArray) -> NDArray[np.float32]:
    """Coordinates as float32: compact base64 in the page, within 0.5 m up to 8,000 km."""
    return np.asarray(values, dtype=np.float32)


def _group(name: str) -> dict[str, Any]:
    return {"legendgroup": name, "legendgrouptitle_text": name}


def _lines(
    geoms: pd.Series, name: str, group: str, colour: str, width: float, **kwargs: Any
) -> go.Scatter:
    """One line trace for many geometries (SVG, drawn under the WebGL markers)."""
    x, y = _lines_xy(geoms)
    line = {"color": colour, "width": width, "dash": kwargs.pop("dash", "solid")}
    kwargs.setdefault("hoverinfo", "skip")
    return go.Scatter(
        x=_f32(x), y=_f32(y), mode="lines", name=name, line=line, **_group(group), **kwargs
    )


def _label(ids: pd.Series, names: pd.Series) -> pd.Series:
    """``id name``, or the id alone when the name is empty."""
    return (ids.astype("str") + " " + names.astype("str")).str.rstrip()


def _hover(template: str, frame: pd.DataFrame) -> NDArray[np.object_]:
    """Hover text per row: ``template`` formatted with the row's columns, strings escaped."""
    safe = {
        c: frame[c].astype("str").map(html.escape)
        if pd.api.types.is_string_dtype(frame[c])
        else frame[c]
        for c in frame.columns
    }
    names = [str(c) for c in safe]
    rows = zip(*(col.to_numpy() for col in safe.values()), strict=True)
    return np.array([template.format(**dict(zip(names, r, strict=True))) for r in rows], np.object_)


def _dem_traces(dem: DEM) -> list[go.Heatmap]:
    """Elevation colours and a translucent hillshade, on at most ``MAX_DEM_CELLS`` per side."""
    z = dem.elevation_m
    step = max(1, math.ceil(max(z.shape) / MAX_DEM_CELLS))
    sub = z[step // 2 :: step, step // 2 :: step].astype(np.float64)
    dx, dy = dem.resolution_m[0] * step, dem.resolution_m[1] * step
    xs, ys = dem.cell_centres()
    dzdy, dzdx = np.gradient(sub * HILLSHADE_Z_FACTOR, -dy, dx)
    az, alt = np.radians(315.0), np.radians(45.0)
    light = np.cos(alt) * np.sin(az), np.cos(alt) * np.cos(az), np.sin(alt)
    shade = (-dzdx * light[0] - dzdy * light[1] + light[2]) / np.sqrt(1 + dzdx**2 + dzdy**2)
    shade = np.where(np.isfinite(shade), np.clip(shade, 0, 1), np.sin(alt))
    # Rows run north to south; flipped, y grows with the row index from the southern row.
    y0 = float(ys[step // 2]) - dy * (sub.shape[0] - 1)
    grid = {"x0": float(xs[step // 2]), "dx": dx, "y0": y0, "dy": dy, "showlegend": True}
    bar = {"orientation": "h", "len": 0.3, "thickness": 10, "x": 0, "xanchor": "left", "y": -0.09}
    return [
        go.Heatmap(
            z=np.flipud(np.round(sub, 1)).astype(np.float32),
            name="elevation (m)",
            colorscale=ELEVATION_COLOURS,
            colorbar={"title": {"text": "elevation (m)"}, **bar},
            hovertemplate="elevation %{z:.1f} m<extra></extra>",
            **grid,
            **_group("terrain"),
        ),
        go.Heatmap(
            z=np.flipud(np.round(shade * 255)).astype(np.uint8),
            name="hillshade",
            zmin=0,
            zmax=255,
            colorscale=HILLSHADE_COLOURS,
            showscale=False,
            hoverinfo="skip",
            **grid,
            **_group("terrain"),
        ),
    ]


def _river_traces(rivers: pd.DataFrame) -> list[go.Scatter]:
    """One line per river (or one for all when there are many), width by channel width."""
    names = [n or i for n, i in zip(rivers["name"].astype("str"), rivers["river_id"], strict=True)]
    parts = [(names[i], rivers.iloc[[i]]) for i in range(len(rivers))]
    if len(parts) > 8:
        parts = [(f"rivers ({len(rivers):,})", rivers)]
    widths = [float(np.clip(p["width_m"].median() / 150, 1.5, 6)) for _, p in parts]
    return [
        _lines(p.geometry, html.escape(n), "water", "#3a7bd5", w, hoverinfo="name")
        for (n, p), w in zip(parts, widths, strict=True)
    ]


def _zone_traces(zones: pd.DataFrame, aggregated: bool) -> list[go.Scatter]:
    """District outlines, and H3 cell outlines (shown when buildings are aggregated to them)."""
    traces = []
    for zone_type, name, colour, width, dash, visible in (
        ("district", "districts", "#444444", 1.6, "dash", True),
        ("h3", "H3 cells", "rgba(80,80,80,0.35)", 0.6, "solid", aggregated),
    ):
        part = zones[zones["zone_type"] == zone_type]
        if len(part):
            label = f"{name} ({len(part):,})"
            shown = True if visible else "legendonly"
            traces.append(
                _lines(part.geometry, label, "boundaries", colour, width, dash=dash, visible=shown)
            )
    return traces


def _district_labels(zones: pd.DataFrame) -> list[dict[str, Any]]:
    d = zones[zones["zone_type"] == "district"]
    x, y = points_xy(d.geometry)
    names = [str(n) or str(i) for n, i in zip(d["name"], d["zone_id"], strict=True)]
    style = {"showarrow": False, "font": {"size": 13}, "bgcolor": "rgba(255,255,255,0.6)"}
    return [
        {"x": float(xi), "y": float(yi), "text": html.escape(n), **style}
        for xi, yi, n in zip(x, y, names, strict=True)
        if np.isfinite(xi) and np.isfinite(yi)
    ]


def road_layers(city: City) -> list[tuple[str, NDArray[np.bool_], str, float]]:
    """The roads as drawn on the maps.

    ``(name, edge mask, colour, width)`` per tier of :data:`ROAD_TIERS` (unknown classes drawn as
    local), then the edges on bridges on top.
    """
    edges = city.roads.edges
    bridge_ids = city.assets.loc[city.assets["kind"] == "bridge", "asset_id"]
    on_bridge = (edges["asset_id"].isin(bridge_ids) & (edges["asset_id"] != "")).to_numpy()
    tier = np.zeros(len(edges), dtype=np.int64)
    for i, (_, classes, _, _) in enumerate(ROAD_TIERS):
        tier[edges["road_class"].isin(classes).to_numpy()] = i
    layers = [
        (name, tier == i, colour, width) for i, (name, _, colour, width) in enumerate(ROAD_TIERS)
    ]
    layers.append(("bridges", on_bridge, BRIDGE_COLOUR, 5.0))
    return layers


def _road_traces(city: City) -> list[go.Scatter]:
    """Roads in tiers by class, then bridges on top (:func:`road_layers`)."""
    edges = city.roads.edges
    return [
        _lines(edges.geometry[m], f"{name} ({int(m.sum()):,} edges)", "roads", colour, width)
        for name, m, colour, width in road_layers(city)
        if m.any()
    ]


def _building_traces(b: pd.DataFrame, x: FloatArray, y: FloatArray) -> list[go.Scattergl]:
    """One marker per building, one trace per occupancy."""
    frame = b[["occupancy", "storeys", "floor_area_m2", "occupants"]].assign(
        label=_label(b["asset_id"], b["name"]), value_m=b["value"] / 1e6
    )
    text = _hover(
        "{label}<br>{occupancy}, {storeys} storeys, {floor_area_m2:,.0f} m²<br>"
        "{occupants:,.0f} occupants, {value_m:,.1f} M CNY",
        frame,
    )
    name = "{} buildings"
    return _split(b["occupancy"], _OCCUPANCY, x, y, text, "buildings", name, size=4, opacity=0.8)


def _building_cell_traces(
    b: pd.DataFrame, x: FloatArray, y: FloatArray, zones: pd.DataFrame
) -> list[go.Scattergl]:
    """Buildings aggregated to H3 cells: markers at cell centres sized by occupants."""
    cells = zones[zones["zone_type"] == "h3"]
    cx, cy = points_xy(cells.geometry)
    centre = pd.DataFrame({"cx": cx, "cy": cy}, index=pd.Index(cells["zone_id"].to_numpy()))
    gx, gy = (pd.Series(np.floor(v / GRID_M), dtype="int64").astype("str") for v in (x, y))
    grid = ("grid " + gx + "," + gy).to_numpy(dtype=object)
    in_cell = b["cell_id"].isin(cells["zone_id"]).to_numpy()
    key = np.where(in_cell, b["cell_id"].to_numpy(dtype=object), grid)
    frame = b[["occupancy", "occupants", "value"]].assign(key=key, x=x, y=y)
    g = frame.groupby("key", sort=True)
    agg = g[["x", "y"]].mean().join(g[["occupants", "value"]].sum()).assign(buildings=g.size())
    agg["value_yi"] = agg["value"] / 1e8
    known = agg.index.isin(centre.index)
    agg.loc[known, "x"] = centre.loc[agg.index[known], "cx"].to_numpy()
    agg.loc[known, "y"] = centre.loc[agg.index[known], "cy"].to_numpy()
    counts = pd.crosstab(frame["key"], frame["occupancy"]).reindex(agg.index, fill_value=0)
    agg["mix"] = [
        ", ".join(f"{o} {n:,}" for o, n in row.items() if n) for _, row in counts.iterrows()
    ]
    text = _hover(
        "{key}<br>{buildings:,} buildings: {mix}<br>{occupants:,.0f} occupants, "
        "{value_yi:,.2f} 亿 CNY",
        agg.reset_index().astype({"key": "str"}),
    )
    occupants = agg["occupants"].to_numpy()
    size = np.round(4 + 16 * np.sqrt(occupants / max(float(occupants.max()), 1.0)), 1)
    ax, ay = agg["x"].to_numpy(), agg["y"].to_numpy()
    group, name = "buildings per H3 cell (size: occupants)", "mostly {} · H3 cells"
    line = {"width": 0.5, "color": "white"}
    dominant = counts.idxmax(axis=1)
    return _split(
        dominant, _OCCUPANCY, ax, ay, text, group, name, size=size, opacity=0.75, line=line
    )


def _facility_traces(f: pd.DataFrame, x: FloatArray, y: FloatArray) -> list[go.Scattergl]:
    """One trace per asset kind other than buildings, with capacity and its unit on hover."""
    frame = f[["kind", "sector", "capacity"]].assign(
        label=_label(f["asset_id"], f["name"]),
        value_m=f["value"] / 1e6,
        unit=f["kind"].map(lambda k: ASSET_KINDS.get(k, ("", ""))[1]).astype("str"),
    )
    text = _hover(
        "{label}<br>{kind} · {sector}<br>capacity {capacity:,.0f} {unit}<br>"
        "value {value_m:,.1f} M CNY",
        frame,
    )
    group = "facilities and infrastructure"
    return _split(f["kind"], _KINDS, x, y, text, group, line={"width": 1, "color": "white"})


def _sensor_traces(sensors: pd.DataFrame) -> list[go.Scattergl]:
    """One trace per sensor kind, with what it observes and the asset it monitors on hover."""
    x, y = points_xy(sensors.geometry)
    monitors = sensors["asset_id"].astype("str")
    frame = sensors[["kind", "observed_property", "unit"]].assign(
        label=_label(sensors["sensor_id"], sensors["name"]),
        monitors=monitors.where(monitors == "", "monitors " + monitors),
    )
    text = _hover("{label}<br>{kind}: {observed_property} ({unit})<br>{monitors}", frame)
    return _split(sensors["kind"], _SENSORS, x, y, text, "sensors", size=11, line={"width": 2})


def _split(
    values: pd.Series,
    styles: Mapping[str, Mapping[str, Any]],
    x: FloatArray,
    y: FloatArray,
    text: NDArray[np.object_],
    group: str,
    name: str = "{}",
    **marker: Any,
) -> list[go.Scattergl]:
    """One marker trace per distinct value, those in ``styles`` first and styled by it.

    ``name`` formats the legend name from the value; ``marker`` holds options shared by every
    trace (an array ``size`` is per point).
    """
    codes = values.astype("str").to_numpy()
    traces = []
    for value in _ordered(codes, styles):
        m = codes == value
        style = {**marker, **styles.get(value, {"color": "#555555"})}
        if isinstance(style.get("size"), np.ndarray):
            style["size"] = style["size"][m]
        label = f"{html.escape(name.format(value.replace('_', ' ')))} ({int(m.sum()):,})"
        traces.append(
            go.Scattergl(
                x=_f32(x[m]),
                y=_f32(y[m]),
                mode="markers",
                name=label,
                marker=style,
                text=text[m].tolist(),
                hovertemplate="%{text}<extra></extra>",
                **_group(group),
            )
        )
    return traces


def _ordered(values: NDArray[np.object_], order: Mapping[str, object]) -> list[str]:
    """Distinct values present, those named in ``order`` first in its order, then the rest."""
    present = {str(v) for v in np.unique(values)}
    return [k for k in order if k in present] + sorted(present - set(order))
