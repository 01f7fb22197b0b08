"""The operations centre's page and its static files, and the vendor scripts it loads.

* ``/`` (the page, ``resilientcity/web/static/index.html`` with the versioned URLs of the two
  vendor scripts filled in) and ``/static/...`` (the package folder
  ``resilientcity/web/static``, revalidated by ETag: ``Cache-Control: no-cache``, mounted by
  :func:`resilientcity.api.web.install_web` with :class:`RevalidatedFiles`);
* the vendor scripts, never from a CDN, at URLs that carry their version (cached for a year,
  ``immutable``): MapLibre GL JS at ``/static/vendor/maplibre-gl-<version>/<file>`` from
  ``resilientcity/web/node_modules/maplibre-gl/dist`` (installed by ``make setup``: ``npm ci``
  of ``resilientcity/web/package.json``; a clear 404 when it is missing) and Plotly's
  JavaScript at ``/static/vendor/plotly-<version>.min.js`` from the installed plotly wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from resilientcity.api.middleware import page_csp

__all__ = [
    "RevalidatedFiles",
    "maplibre_dist",
    "maplibre_version",
    "plotly_js",
    "router",
    "static_folder",
    "vendor_urls",
]

router = APIRouter(tags=["web"])


def static_folder() -> Path:
    """The folder of the page's static files (``resilientcity/web/static``)."""
    return Path(str(resources.files("resilientcity.web").joinpath("static")))


def plotly_js() -> Path:
    """Plotly's JavaScript bundle inside the installed plotly wheel."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


def maplibre_dist() -> Path:
    """The folder of MapLibre GL JS's files; it may be missing.

    Installed by ``make setup`` (``npm ci`` in the package folder ``resilientcity/web``).
    """
    web = Path(str(resources.files("resilientcity.web")))
    return web / "node_modules" / "maplibre-gl" / "dist"


def maplibre_version() -> str | None:
    """The installed MapLibre GL JS version, or ``None`` when it is not installed."""
    manifest = maplibre_dist().parent / "package.json"
    if not (manifest.is_file() and (maplibre_dist() / "maplibre-gl.mjs").is_file()):
        return None
    return str(orjson.loads(manifest.read_bytes())["version"])


#: MapLibre's files that the page loads (the module, its worker and its style sheet).
MAPLIBRE_FILES = ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css")
#: Cache-Control of files whose URL carries their version.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control of the page's own files: kept, revalidated by ETag on every use.
REVALIDATE = "no-cache"
#: Said when MapLibre is missing (the page shows it too).
MAPLIBRE_MISSING = (
    "MapLibre GL JS is not installed: run `make setup` (npm ci --prefix src/resilientcity/web)"
)


def vendor_urls() -> dict[str, str]:
    """What the page's placeholders become.

    The vendor files' versioned URLs, and the tags that load MapLibre's style sheet and preload its
    module (``""`` when MapLibre is missing).
    """
    import plotly

    version = maplibre_version()
    js = "" if version is None else f"/static/vendor/maplibre-gl-{version}/maplibre-gl.mjs"
    head = ""
    if version is not None:
        css = f"/static/vendor/maplibre-gl-{version}/maplibre-gl.css"
        head = f'<link rel="stylesheet" href="{css}">\n<link rel="modulepreload" href="{js}">'
    return {
        "{{PLOTLY_JS}}": f"/static/vendor/plotly-{plotly.__version__}.min.js",
        "{{MAPLIBRE_JS}}": js,
        "{{MAPLIBRE_HEAD}}": head,
    }


class RevalidatedFiles(StaticFiles):
    """Static files with ``Cache-Control: no-cache``, revalidated by ETag.

    Starlette answers 304 to a matching ``If-None-Match``, so a reload costs a request per file
    and no bytes.
    """

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        """Starlette's file response, to be revalidated on every use."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = REVALIDATE
        return response


@router.get("/", include_in_schema=False)
def index() -> HTMLResponse:
    """The operations centre's page, with the vendor scripts' versioned URLs filled in."""
    page = static_folder() / "index.html"
    if not page.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the web page is not installed")
    text = page.read_text(encoding="utf-8")
    for placeholder, url in vendor_urls().items():
        text = text.replace(placeholder, url)
    headers = {"Cache-Control": REVALIDATE, "Content-Security-Policy": page_csp(text)}
    return HTMLResponse(text, headers=headers)


VendorName = Annotated[str, PathParam(min_length=1, max_length=200)]


@router.get("/static/vendor/{name:path}", include_in_schema=False)
def vendor_file(name: VendorName) -> FileResponse:
    """A vendor file.

    ``plotly-<version>.min.js`` (or ``plotly.min.js``, cached a day) from the plotly wheel,
    ``maplibre-gl-<version>/<file>`` from MapLibre's npm package.
    """
    import plotly

    if name in (f"plotly-{plotly.__version__}.min.js", "plotly.min.js"):
        cache = IMMUTABLE if name != "plotly.min.js" else "public, max-age=86400"
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": cache}
        )
    folder, _, file = name.partition("/")
    if folder.startswith("maplibre-gl-") and file in MAPLIBRE_FILES:
        version = maplibre_version()
        if version is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, MAPLIBRE_MISSING)
        if folder == f"maplibre-gl-{version}":
            kind = "text/css" if file.endswith(".css") else "text/javascript"
            path = maplibre_dist() / file
            return FileResponse(path, media_type=kind, headers={"Cache-Control": IMMUTABLE})
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vendor file {name}")
