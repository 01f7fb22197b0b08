"""The scenario file: what to run, validated with pydantic before anything runs.

A scenario names a city (the demo city or a GeoPackage), one or more hazards that strike it
together (a 100-year river flood with its rainstorm, an earthquake, a typhoon, hazard rasters),
optional probabilistic event sets for the expected annual loss, and options for the impact
engine. ``docs/scenarios/`` holds an example per hazard. Relative paths in the file are relative
to the file's folder.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from resilientcity._files import read_data_file
from resilientcity._pydantic import pydantic_problems
from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.earthquake import Mechanism, Region
from resilientcity.hazard.raster_layer import Outside
from resilientcity.twin.demo import DEFAULT_SEED
from resilientcity.vocabulary import CitySize, DamageMode, HazardKind, RecoveryPolicy, WarningLevel

__all__ = [
    "AssessmentOptions",
    "CitySpec",
    "DecisionOptions",
    "EarthquakeSpec",
    "EventSetSpec",
    "HazardSpec",
    "ImpactOptions",
    "PluvialFloodSpec",
    "RasterLayerSpec",
    "RasterSpec",
    "RecoveryOptions",
    "RiverFloodSpec",
    "Scenario",
    "WindSpec",
    "load_scenario",
    "scenario_from_dict",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitySpec(_Spec):
    """The city: ``demo`` (a size of the built-in demo city) or ``path`` (a GeoPackage)."""

    demo: CitySize | None = None
    seed: int = DEFAULT_SEED
    path: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CitySpec:
        if (self.demo is None) == (self.path is None):
            raise ValueError("give exactly one of 'demo' (a demo city size) or 'path' (a .gpkg)")
        return self


class RiverFloodSpec(_Spec):
    """River flood from a river stage: a given stage, or the stage of a return period."""

    kind: Literal["river_flood"]
    stage_m: float | None = Field(default=None, description="river stage (m, DEM datum)")
    return_period_years: float | None = Field(default=None, gt=0)
    stage_frequency: Path | None = Field(
        None, description="stage-frequency JSON (default packaged)"
    )

    @model_validator(mode="after")
    def _one_stage(self) -> RiverFloodSpec:
        if (self.stage_m is None) == (self.return_period_years is None):
            raise ValueError("give exactly one of 'stage_m' or 'return_period_years'")
        return self


class PluvialFloodSpec(_Spec):
    """Rainstorm: the design storm of a return period and duration, ponding in low cells."""

    kind: Literal["pluvial_flood"]
    return_period_years: float = Field(gt=0)
    duration_min: float = Field(default=120.0, gt=0)
    storm_intensity: Path | None = Field(default=None, description="storm intensity formula JSON")
    swmm_model: Path | None = Field(default=None, description="SWMM .inp of the drainage network")


class EarthquakeSpec(_Spec):
    """Earthquake scenario: magnitude and epicentre; optional correlated realisations."""

    kind: Literal["earthquake"]
    magnitude: float
    epicentre_xy: tuple[float, float] | None = Field(default=None, description="city CRS, metres")
    epicentre_lonlat: tuple[float, float] | None = None
    depth_km: float = Field(default=10.0, ge=0)
    mechanism: Mechanism = "unspecified"
    vs30: float | Literal["slope"] = "slope"
    region: Region = "global"
    realisations: int = Field(default=0, ge=0)
    seed: int = 1

    @model_validator(mode="after")
    def _one_epicentre(self) -> EarthquakeSpec:
        if (self.epicentre_xy is None) == (self.epicentre_lonlat is None):
            raise ValueError("give exactly one of 'epicentre_xy' or 'epicentre_lonlat'")
        return self


class WindSpec(_Spec):
    """Typhoon: a track file (CSV) swept over the city with the Holland (1980) profile."""

    kind: Literal["wind"]
    track: Path


class RasterLayerSpec(_Spec):
    """One GeoTIFF: an event of a raster hazard."""

    path: Path
    event_id: str
    frequency: float = Field(default=0.0, ge=0)


class RasterSpec(_Spec):
    """Hazard rasters (GeoTIFF) sampled at the assets, one event per file."""

    kind: Literal["raster"]
    hazard: HazardKind
    layers: list[RasterLayerSpec] = Field(min_length=1)
    band: int = Field(default=1, ge=1)
    scale: float = Field(default=1.0, gt=0)
    outside: Outside = "error"


HazardSpec = Annotated[
    RiverFloodSpec | PluvialFloodSpec | EarthquakeSpec | WindSpec | RasterSpec,
    Field(discriminator="kind"),
]


class EventSetSpec(_Spec):
    """A probabilistic event set for the expected annual loss and the exceedance curve."""

    kind: Literal["river_flood", "pluvial_flood"]
    stage_frequency: Path | None = None
    return_periods_years: list[float] = Field(
        default_factory=lambda: [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    )
    duration_min: float = Field(
        default=120.0, gt=0, description="rainstorm duration of every event"
    )
    storm_intensity: Path | None = Field(default=None, description="storm intensity formula JSON")


class ImpactOptions(_Spec):
    """Impact engine options."""

    keep_matrix: bool = False
    threads: int | None = Field(default=None, ge=1)
    evacuated_share: float = Field(
        default=0.0, ge=0, le=1, description="share of occupants evacuated before the hazard"
    )
    curves: list[Path] = Field(default_factory=list, description="extra curve files (JSON/CSV)")


class RecoveryOptions(_Spec):
    """Network, cascade and recovery stage options."""

    enabled: bool = True
    days: float = Field(default=180.0, gt=0, description="simulated span (daily steps)")
    policy: RecoveryPolicy = "critical_first"
    given: list[str] = Field(default_factory=list, description="repair order for 'given'")
    crews: dict[str, int] | None = Field(
        default=None, description="crews per sector (default: data/recovery)"
    )
    damage: DamageMode = Field(
        default="sampled", description="down assets: one seeded draw, or P(functional) < 0.5"
    )
    damage_seed: int = 1
    compare_policies: bool = Field(
        default=False,
        description="compare repair policies (naive, critical_first, population, greedy) by "
        "their resilience loss; several recovery runs, slow for large cities",
    )
    sampled: bool = Field(
        default=False, description="sample repair durations (lognormal around the mean)"
    )
    seed: int = 1


class DecisionOptions(_Spec):
    """Decision stage options: evacuation, rescue dispatch, relief and repair priorities."""

    enabled: bool | None = Field(
        default=None,
        description="run the decision stages; default: when the network stage runs (they need "
        "the damaged roads, so true with recovery.enabled false is refused)",
    )
    max_dispatch_incidents: int = Field(
        default=1_000,
        ge=1,
        description="the dispatch plans this many incidents at most, highest priorities first "
        "(the first wave; the rest count as unserved)",
    )
    relief_days: int = Field(
        default=7, ge=1, description="days of relief needs the warehouses supply"
    )


class AssessmentOptions(_Spec):
    """The assessment stage: the twin's indicators, plus a typed-in indicator table if any."""

    table: Path | None = Field(
        default=None,
        description="indicator table CSV (long or wide), units = the assessment units' zone "
        "ids (districts, or H3 cells in a city with fewer than two districts); none: the "
        "twin's indicators alone",
    )
    weights: Literal["entropy", "critic", "equal", "ahp", "combined"] = "entropy"
    ahp_matrix: Path | None = Field(
        default=None, description="pairwise comparison CSV, for weights 'ahp' or 'combined'"
    )
    method: Literal["topsis", "vikor", "weighted_sum", "geometric"] = "topsis"
    maturity_answers: Path | None = Field(
        default=None, description="maturity questionnaire answers (JSON/YAML, 'answers')"
    )

    @model_validator(mode="after")
    def _ahp_matrix(self) -> AssessmentOptions:
        if self.weights == "ahp" and self.ahp_matrix is None:
            raise ValueError("weights 'ahp' need 'ahp_matrix' (a pairwise comparison CSV)")
        if self.ahp_matrix is not None and self.weights not in ("ahp", "combined"):
            raise ValueError("'ahp_matrix' is used only with weights 'ahp' or 'combined'")
        return self


class Scenario(_Spec):
    """A scenario: a city, the hazards that strike it together, event sets, stage options."""

    name: str = Field(min_length=1)
    description: str = ""
    city: CitySpec
    hazards: list[HazardSpec] = Field(
        description="the hazards that strike together; empty: a baseline run with no damage"
    )
    event_sets: list[EventSetSpec] = Field(default_factory=list)
    impact: ImpactOptions = ImpactOptions()
    recovery: RecoveryOptions = RecoveryOptions()
    decisions: DecisionOptions = DecisionOptions()
    assessment: AssessmentOptions | None = Field(
        default=None, description="the assessment stage of the city's units (none by default)"
    )
    warning_level: WarningLevel | None = Field(
        default=None, description="the warning in force (four-level scheme), for the plans"
    )
    plans: list[Path] = Field(
        default_factory=list, description="contingency plan files (default: the packaged ones)"
    )
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _decisions_need_the_network(self) -> Scenario:
        if self.decisions.enabled and not self.recovery.enabled:
            raise ValueError(
                "decisions.enabled: true needs the network stage (recovery.enabled: true): the "
                "decisions work on the damaged roads"
            )
        return self

    @property
    def decisions_run(self) -> bool:
        """Whether the decision stages run: ``decisions.enabled``, default the network stage's."""
        enabled = self.decisions.enabled
        return self.recovery.enabled if enabled is None else enabled and self.recovery.enabled

    def resolve(self, path: Path | None) -> Path | None:
        """``path`` relative to the scenario file's folder (absolute paths unchanged)."""
        return None if path is None else (path if path.is_absolute() else self.base_dir / path)


def scenario_from_dict(
    data: Any, source: str = "scenario", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as a mapping (e.g. parsed YAML).

    Raises
    ------
    ValidationError
        Every problem, each naming its field (``hazards[1].stage_m``) and what is expected.
    """
    if not isinstance(data, dict):
        raise ValidationError(
            [
                Problem(
                    source, "", "a mapping with name, city and hazards", found=type(data).__name__
                )
            ],
            what="scenario",
        )
    try:
        scenario = Scenario.model_validate({**data, "base_dir": base_dir or Path(".")})
    except PydanticError as exc:
        raise ValidationError(pydantic_problems(exc, source), what="scenario") from None
    return scenario


def load_scenario(path: str | PathLike[str]) -> Scenario:
    """Read and validate a scenario YAML (or JSON) file.

    Raises
    ------
    DataFileError
        Missing or unreadable file, or not YAML.
    ValidationError
        A scenario that breaks the rules, every problem named by its field.
    """
    source = Path(path)
    data = read_data_file(source, "scenario", as_yaml=True)
    return scenario_from_dict(data, source=source.name, base_dir=source.parent)
