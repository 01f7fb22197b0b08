"""A city's regional profile: the conventions of its country that every stage reads.

A profile says what the data of a city do not: the currency and price basis of values, the
construction cost per m² of floor, how the building stock is typed (the structural type of
low-rise housing, and the class map overlays of the vulnerability library: JRC flood curves of
the city's continent, earthquake design levels), the rainfall input of the rainstorm model, the
river stage-frequency table, the contingency plans and the names of the agencies. Each value
carries its source, or says it is an assumption (:attr:`RegionProfile.sources`).

Where profiles come from (:func:`region_profile`):

* **Packaged profiles** (``data/regions/<id>.json``): ``CN`` (China), ``CN-changsha`` (the demo
  city: China plus the Changsha tables: the Xiang River stage-frequency table, the storm
  formula standing in for Changsha's, the demo's contingency plans) and ``FI`` (Finland, with
  illustrative contingency plan templates, ``data/decision/plans/fi``).
  A profile file may ``extend`` another and change some of its values.
* **Any other country** by its ISO 3166-1 alpha-2 code (``DE``), or a subdivision by its
  ISO 3166-2 code (``DE-BY``, ``FI-18``: the country's profile, the subdivision recorded): a
  generic profile from the JRC table of construction costs by country (Huizinga et al. 2017,
  2010 EUR per m²; ``data/regions/jrc_construction_cost.csv``) and the JRC flood curves of the
  country's continent; no rainfall table, stage-frequency table or plans (the stages that need
  them are skipped with the reason unless the scenario gives its own).
* **A file of the user's** (``my-city.json``): a profile that extends a packaged one or a
  country code and changes what the user knows better.

Nothing of one country reaches a city of another: a generic profile takes no Chinese table,
formula, plan or cost; the China-specific values live in the ``CN`` profiles.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from resilientcity._files import merge_tables, read_data_file
from resilientcity._pydantic import pydantic_problems
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.region.countries import Country, country_of, jrc_costs

__all__ = [
    "COST_CLASSES",
    "PACKAGED_PROFILES",
    "RegionProfile",
    "profile_of",
    "region_profile",
    "stored_profile",
]

CostClass = Literal[
    "residential_low", "residential_mid", "residential_high", "commercial", "industrial", "public",
    "medical"
]  # fmt: skip
#: The classes of construction cost per m² of floor a profile gives.
COST_CLASSES: tuple[str, ...] = CostClass.__args__  # type: ignore[attr-defined]
#: Packaged profiles by id (``data/regions/<id>.json``).
PACKAGED_PROFILES: tuple[str, ...] = ("CN", "CN-changsha", "FI")
#: Commercial construction cost of the demo city (CNY per m², ``data/demo_assumptions.json``):
#: the denominator that converts the packaged CNY reference values of lifelines to a country.
DEMO_COMMERCIAL_CNY_PER_M2 = 4500.0
#: Ratio of medical to commercial construction cost in the demo city (6,000 / 4,500 CNY per m²).
MEDICAL_OVER_COMMERCIAL = 6000.0 / 4500.0

#: Class-map patterns of the packaged wind curves (data/vulnerability/class_map.json).
_WIND_PATTERNS = ("RES*", "COM*", "IND*", "GOV*", "EDU*", "REL*", "ESS*", "EDC*", "PWP*", "PWT*",
                  "CCO*")  # fmt: skip

Positive = Annotated[float, pydantic.Field(gt=0, allow_inf_nan=False)]


class RegionProfile(pydantic.BaseModel, extra="forbid", frozen=True):
    """The regional profile of a city (see the module docstring).

    Attributes
    ----------
    id
        The profile's id: a packaged profile (``FI``, ``CN-changsha``), an ISO 3166 code, or a
        user profile's own id.
    country, country_name
        ISO 3166-1 alpha-2 code and English short name of the country.
    subdivision, subdivision_name
        ISO 3166-2 code and name when the city's region was given that precisely, else empty.
    place
        The city or station the profile's local tables belong to (``Changsha``), or empty.
    currency, price_year, value_basis
        Currency (ISO 4217) and price year of every value of the city, and how they were
        obtained (source and any conversion).
    construction_cost_per_m2
        Structure replacement cost per m² of floor by class, in ``currency``.
    reference_value_factor, reference_value_basis
        Factor applied to the packaged reference values of lifelines, bridges and open space
        (given in CNY of the demo city) to bring them into this profile's currency, and why.
    flood_curves
        Continent of the JRC flood depth-damage curves (Huizinga et al. 2017).
    housing_low_rise_type
        Hazus structural type of housing below ``residential_mid_min_storeys`` storeys when
        OSM does not say (``building:material``): ``URML`` (unreinforced masonry), ``W1`` (wood).
    pre_code_before
        Buildings whose OSM ``start_date`` is before this year were built before seismic design
        codes: their earthquake class takes the Hazus Pre-Code design level
        (``OCCUPANCY/TYPE-PC``); ``None``: the year says nothing here.
    class_map
        Overlay of the vulnerability class map: hazard → pattern → curve id.
    rainfall, stage_frequency
        Packaged rainfall input (a storm intensity formula or a station rainfall table file in
        ``data/hazard``) and river stage-frequency table; ``None``: none for this region.
    plans
        Packaged contingency plan files (paths under ``data/decision/plans``, e.g.
        ``fi/flood.yaml``); empty: none for this region.
    warning_rules
        Packaged warning rule file (``data/warning``) the operations service seeds its store
        with; ``None``: none for this region (the user gives their own, ``serve --rules``).
    agencies
        Agency id → name in the region's language(s).
    sources
        Field → its source, or ``assumption: …``.
    """

    id: str = pydantic.Field(min_length=1)
    country: str = pydantic.Field(pattern=r"^[A-Z]{2}$")
    country_name: str = ""
    subdivision: str = ""
    subdivision_name: str = ""
    place: str = ""
    currency: str = pydantic.Field(pattern=r"^[A-Z]{3}$")
    price_year: int = pydantic.Field(ge=1900, le=2100)
    value_basis: str = pydantic.Field(min_length=1)
    construction_cost_per_m2: dict[CostClass, Positive]
    reference_value_factor: Positive
    reference_value_basis: str = pydantic.Field(min_length=1)
    flood_curves: Literal["europe", "asia", "global"]
    housing_low_rise_type: Literal["URML", "URMM", "W1", "W2", "C1L", "C2L", "RM1L", "PC1"]
    pre_code_before: int | None = pydantic.Field(default=None, ge=1800, le=2100)
    class_map: dict[str, dict[str, str]] = pydantic.Field(default_factory=dict)
    rainfall: str | None = None
    stage_frequency: str | None = None
    plans: tuple[str, ...] = ()
    warning_rules: str | None = None
    agencies: dict[str, str] = pydantic.Field(default_factory=dict)
    sources: dict[str, str] = pydantic.Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def _every_cost_class(self) -> RegionProfile:
        missing = [c for c in COST_CLASSES if c not in self.construction_cost_per_m2]
        if missing:
            raise ValueError(f"construction_cost_per_m2 lacks {', '.join(missing)}")
        return self

    def summary(self) -> dict[str, Any]:
        """The profile as JSON-ready data for ``summary.json`` and the report (sources too)."""
        return self.model_dump(mode="json")


def _packaged_text(name: str) -> str:
    return resources.files("resilientcity").joinpath("data/regions", name).read_text("utf-8")


@cache
def _packaged_raw(profile_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_packaged_text(f"{profile_id}.json"))
    return data


def _generic(country: Country) -> dict[str, Any]:
    """The generic profile of a country: JRC costs and continent curves, nothing local."""
    residential, commercial, industrial = jrc_costs(country.alpha3)
    costs = {
        "residential_low": residential,
        "residential_mid": residential,
        "residential_high": residential,
        "commercial": commercial,
        "industrial": industrial,
        "public": commercial,
        "medical": commercial * MEDICAL_OVER_COMMERCIAL,
    }
    jrc = (
        "Huizinga, de Moel & Szewczyk (2017), JRC Technical Report JRC105688, table of "
        f"construction costs by country: {country.name} ({country.alpha3}) residential "
        f"{residential:,.0f}, commercial {commercial:,.0f}, industrial {industrial:,.0f} "
        "EUR per m² (2010 prices)"
    )
    return {
        "id": country.alpha2,
        "country": country.alpha2,
        "country_name": country.name,
        "currency": "EUR",
        "price_year": 2010,
        "value_basis": f"{jrc}; values in 2010 EUR, not converted to the local currency",
        "construction_cost_per_m2": costs,
        "reference_value_factor": commercial / DEMO_COMMERCIAL_CNY_PER_M2,
        "reference_value_basis": (
            "lifeline, bridge and open-space values of the packaged defaults (CNY of the demo "
            f"city) × {country.alpha3} commercial construction cost (JRC, 2010 EUR per m²) / "
            f"the demo city's commercial cost ({DEMO_COMMERCIAL_CNY_PER_M2:,.0f} CNY per m²): "
            "an assumption that they scale with building costs"
        ),
        "flood_curves": country.jrc_continent,
        "housing_low_rise_type": "URML",
        "class_map": {"wind": dict.fromkeys(_WIND_PATTERNS, "eberenz2021_row")},
        "sources": {
            "class_map": "wind: the global calibration of the Emanuel (2011) wind damage "
            "function by Eberenz et al. (2021) (region ROW, v_half 110.1 m/s) instead of the "
            "mainland-China calibration (WP3) of the packaged class map",
            "construction_cost_per_m2": jrc
            + "; public buildings at the commercial cost and hospitals at "
            f"{MEDICAL_OVER_COMMERCIAL:.3g} × the commercial cost (the demo city's ratio, "
            "6,000 / 4,500 CNY per m²): assumptions",
            "flood_curves": f"JRC flood depth-damage curves of {country.continent} "
            f"({country.jrc_continent} curves; the package carries Europe, Asia and global)",
            "housing_low_rise_type": "assumption: no building-stock data packaged for "
            f"{country.name}; low-rise housing without building:material is taken as "
            "unreinforced masonry (Hazus URML), the weakest common type; give a profile file "
            "with the region's typical stock",
            "rainfall": f"none packaged for {country.name}: a pluvial scenario needs the "
            "scenario's own storm_intensity file",
            "stage_frequency": f"none packaged for {country.name}: a river-flood return "
            "period needs the scenario's own stage_frequency file",
            "plans": f"none packaged for {country.name}: give the scenario's own plans",
            "warning_rules": f"none packaged for {country.name}: the operations service "
            "watches no thresholds until the user gives the region's rules "
            "(`resilientcity serve --rules FILE`)",
        },
    }


def _resolve(spec: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Raw profile data of a packaged id, an ISO code or a file (following ``extends``)."""
    if spec in seen:
        raise DataFileError(f"region profile {spec!r} extends itself ({' → '.join(seen)})")
    if spec.startswith("jrc:"):
        country, _ = country_of(spec.removeprefix("jrc:"))
        return _generic(country)
    if spec in PACKAGED_PROFILES:
        raw = copy.deepcopy(_packaged_raw(spec))
    elif spec.lower().endswith((".json", ".yaml", ".yml")):
        path = Path(spec)
        loaded = read_data_file(path, "region profile", as_yaml=True)
        if not isinstance(loaded, dict):
            raise DataFileError(f"{path}: expected a mapping of profile fields")
        raw = {"id": path.stem, **loaded}
    else:
        country, subdivision = country_of(spec)
        packaged = country.alpha2 in PACKAGED_PROFILES
        raw = _resolve(country.alpha2, seen) if packaged else _generic(country)
        if subdivision is not None:
            raw |= {
                "id": subdivision.code,
                "subdivision": subdivision.code,
                "subdivision_name": subdivision.name,
            }
        return raw
    base = raw.pop("extends", None)
    raw.pop("about", None)
    if base is None:
        return raw
    parent = _resolve(str(base), (*seen, spec))
    return merge_tables(parent, {k: v for k, v in raw.items() if k != "sources"}) | {
        "sources": {**parent.get("sources", {}), **raw.get("sources", {})}
    }


def region_profile(spec: str | PathLike[str] | RegionProfile) -> RegionProfile:
    """The profile of ``spec``: a packaged id, an ISO 3166-1/3166-2 code, or a profile file.

    Raises
    ------
    ValidationError
        An unknown code (one line naming it and the accepted forms) or a profile file whose
        fields break the rules (each named).
    DataFileError
        A profile file that cannot be read.
    """
    if isinstance(spec, RegionProfile):
        return spec
    text = str(spec)
    raw = _resolve(text)
    try:
        return RegionProfile.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_problems(exc, text), what=f"region profile {text}") from None


def stored_profile(data: Any, where: str) -> RegionProfile:
    """A profile stored in a twin's metadata (``City.metadata["region"]``), validated.

    Raises
    ------
    ValidationError
        The stored data are not a valid profile.
    """
    if isinstance(data, Mapping) and "warning_rules" not in data:
        data = {**data, "warning_rules": _packaged_warning_rules(data)}
    try:
        return RegionProfile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(pydantic_problems(exc, where), what="region profile") from None


def _packaged_warning_rules(data: Mapping[str, Any]) -> str | None:
    """The warning rules of a profile stored before profiles named them (``warning_rules``).

    Those of the packaged profile of its id (``CN-changsha``), else of its country's packaged
    profile (``FI``), else none: a generic country profile has no packaged rules.
    """
    for spec in (data.get("id"), data.get("country")):
        if spec in PACKAGED_PROFILES:
            rules = _resolve(str(spec)).get("warning_rules")
            return None if rules is None else str(rules)
    return None


#: The profile a twin without one is taken to have (twins written before profiles existed were
#: the demo city or imports that took its Changsha conventions).
LEGACY_PROFILE = "CN-changsha"


def profile_of(metadata: Mapping[str, Any]) -> RegionProfile:
    """The profile stored in a twin's metadata (``metadata["region"]``).

    A twin without one (written before profiles existed) gets :data:`LEGACY_PROFILE`, and its
    ``sources["id"]`` says that it was assumed, so that reports show it.

    Raises
    ------
    ValidationError
        The stored data are not a valid profile.
    """
    data = metadata.get("region")
    if data is None:
        legacy = region_profile(LEGACY_PROFILE)
        note = (
            "assumption: the twin carries no regional profile (written before profiles "
            f"existed); the demo city's {LEGACY_PROFILE} profile was assumed. Set the city's "
            "own with `resilientcity twin region CITY.gpkg CODE`"
        )
        return legacy.model_copy(update={"sources": {**legacy.sources, "id": note}})
    return stored_profile(data, "metadata.region")
