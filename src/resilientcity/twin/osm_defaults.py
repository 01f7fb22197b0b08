"""What the OpenStreetMap importer assumes where the map is silent: :class:`OsmDefaults`.

Every value defaults to ``data/osm_defaults.json``, where each one carries its source or says it
is an assumption; users override any of them from a JSON file (``--defaults`` on the CLI).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import pydantic

from resilientcity._files import merge_tables, read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.region.profile import RegionProfile
from resilientcity.twin.schema import RoadClass

__all__ = ["OsmDefaults", "packaged_defaults", "packaged_sources"]

Use = Literal["residential", "commercial", "industrial", "public"]
WorkUse = Literal["commercial", "industrial", "public"]
SiteKind = Literal["hospital", "clinic", "fire_station", "police_station", "shelter", "warehouse"]
FacilityKind = Literal[
    "substation", "power_plant", "pump_station", "water_plant", "water_storage",
    "wastewater_plant", "telecom", "telecom_mast",
]  # fmt: skip
BackupKind = Literal[
    "fire_station", "police_station", "pump_station", "water_plant", "water_storage",
    "wastewater_plant", "telecom",
]  # fmt: skip
SubstationClass = Literal["ESS1", "ESS3", "ESS5"]
CostClass = Literal[
    "residential_low", "residential_mid", "residential_high", "commercial", "industrial", "public",
    "medical"
]  # fmt: skip
Positive = Annotated[float, pydantic.Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, pydantic.Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, pydantic.Field(gt=0, le=1)]
Count = Annotated[int, pydantic.Field(ge=1)]
SITE_KINDS = get_args(SiteKind)
FACILITY_KINDS = get_args(FacilityKind)


@cache
def packaged_defaults() -> dict[str, Any]:
    """Values of ``data/osm_defaults.json`` by key (the sources stay in the file)."""
    text = resources.files("resilientcity").joinpath("data/osm_defaults.json").read_text("utf-8")
    return {k: v["value"] for k, v in json.loads(text).items() if isinstance(v, dict)}


@cache
def packaged_sources() -> dict[str, str]:
    """The source (or ``assumption: …``) of each value of ``data/osm_defaults.json``."""
    text = resources.files("resilientcity").joinpath("data/osm_defaults.json").read_text("utf-8")
    return {
        k: str(v["source"]) if "source" in v else f"assumption: {v.get('assumption', '')}"
        for k, v in json.loads(text).items()
        if isinstance(v, dict)
    }


def _packaged(key: str) -> Any:
    """A field whose default is the value of ``key`` in ``data/osm_defaults.json``."""
    return pydantic.Field(default_factory=lambda: copy.deepcopy(packaged_defaults()[key]))


class Facility(pydantic.BaseModel, extra="forbid"):
    """Value (CNY), capacity (unit of the kind), occupants and vulnerability class of a lifeline."""

    value_cny: NonNegative
    capacity: NonNegative
    occupants: NonNegative
    vuln: Annotated[str, pydantic.Field(min_length=1)]


class HospitalBackup(pydantic.BaseModel, extra="forbid"):
    """Backup power (h) of hospitals with at least ``large_beds`` beds and of smaller ones."""

    large: NonNegative
    small: NonNegative
    large_beds: Positive


class OsmDefaults(pydantic.BaseModel, extra="forbid", validate_default=True):
    """What the OpenStreetMap importer assumes where the map is silent.

    Every field defaults to ``data/osm_defaults.json``, where each value has its source or
    says it is an assumption. Tables given in part are merged key by key with the packaged
    ones (``OsmDefaults(road_speed_kph={"primary": 60})`` changes one speed); unknown keys
    are rejected. Units are in the names: m², CNY, km/h, hours; storeys and lanes are counts.
    """

    floor_area_per_resident_m2: Positive = _packaged("floor_area_per_resident_m2")
    residential_occupancy_rate: Share = _packaged("residential_occupancy_rate")
    floor_area_per_worker_m2: dict[WorkUse, Positive] = _packaged("floor_area_per_worker_m2")
    structure_cost_cny_per_m2: dict[CostClass, NonNegative] = _packaged("structure_cost_cny_per_m2")
    contents_to_structure_ratio: dict[Use, NonNegative] = _packaged("contents_to_structure_ratio")
    residential_mid_min_storeys: Count = _packaged("residential_mid_min_storeys")
    residential_high_min_storeys: Count = _packaged("residential_high_min_storeys")
    storey_height_m: Positive = _packaged("storey_height_m")
    default_storeys: dict[Use, Count] = _packaged("default_storeys")
    default_occupancy: Use = _packaged("default_occupancy")
    occupancy_by_building: dict[str, Use] = _packaged("occupancy_by_building")
    occupancy_by_amenity: dict[str, Use] = _packaged("occupancy_by_amenity")
    occupancy_by_landuse: dict[str, Use] = _packaged("occupancy_by_landuse")
    unoccupied_building_tags: list[str] = _packaged("unoccupied_building_tags")
    floor_area_per_bed_m2: Positive = _packaged("floor_area_per_bed_m2")
    shelter_m2_per_person: Positive = _packaged("shelter_m2_per_person")
    shelter_usable_share: dict[Literal["building", "open_space"], Share] = _packaged(
        "shelter_usable_share"
    )
    open_space_cost_cny_per_m2: NonNegative = _packaged("open_space_cost_cny_per_m2")
    site_floor_area_m2: dict[SiteKind, Positive] = _packaged("site_floor_area_m2")
    fire_station_engines: NonNegative = _packaged("fire_station_engines")
    facilities: dict[FacilityKind, Facility] = _packaged("facilities")
    road_speed_kph: dict[RoadClass, Positive] = _packaged("road_speed_kph")
    road_lanes: dict[RoadClass, Count] = _packaged("road_lanes")
    lane_width_m: Positive = _packaged("lane_width_m")
    bridge_deck_cost_cny_per_m2: NonNegative = _packaged("bridge_deck_cost_cny_per_m2")
    hospital_backup_hours: HospitalBackup = _packaged("hospital_backup_hours")
    backup_hours: dict[BackupKind, NonNegative] = _packaged("backup_hours")
    river_waterways: list[str] = _packaged("river_waterways")
    river_width_m: Positive = _packaged("river_width_m")
    substation_classes_kv: dict[SubstationClass, NonNegative] = _packaged("substation_classes_kv")
    relief_stock_m3_per_m2: NonNegative = _packaged("relief_stock_m3_per_m2")

    @pydantic.model_validator(mode="before")
    @classmethod
    def _merge_tables(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return merge_tables({k: v for k, v in packaged_defaults().items() if k in data}, data)

    @pydantic.field_validator("residential_high_min_storeys")
    @classmethod
    def _above_mid(cls, value: int, info: pydantic.ValidationInfo) -> int:
        mid = info.data.get("residential_mid_min_storeys", 0)
        if value <= mid:
            raise ValueError(f"more than residential_mid_min_storeys ({mid})")
        return value

    def for_region(self, profile: RegionProfile) -> OsmDefaults:
        """These defaults in the conventions of a regional profile.

        The construction costs per m² become the profile's (unless these defaults were given
        them explicitly, e.g. from a ``--defaults`` file), and the reference values of lifelines,
        bridges and open space (CNY of the demo city) are multiplied by the profile's
        ``reference_value_factor``. Everything else is unchanged.
        """
        factor = profile.reference_value_factor
        update: dict[str, Any] = {
            "facilities": {
                kind: spec.model_copy(update={"value_cny": spec.value_cny * factor})
                for kind, spec in self.facilities.items()
            },
            "open_space_cost_cny_per_m2": self.open_space_cost_cny_per_m2 * factor,
            "bridge_deck_cost_cny_per_m2": self.bridge_deck_cost_cny_per_m2 * factor,
        }
        if "structure_cost_cny_per_m2" not in self.model_fields_set:
            update["structure_cost_cny_per_m2"] = dict(profile.construction_cost_per_m2)
        return self.model_copy(update=update)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> OsmDefaults:
        """Read defaults from a JSON object of field → value (or ``{"value": …}`` entries).

        Fields left out keep their packaged values; tables are merged key by key.

        Raises
        ------
        DataFileError
            The file is missing or not a JSON object.
        ValidationError
            A value is out of range, of the wrong type, or its key is unknown (each named).
        """
        source = Path(path)
        raw = read_data_file(source, "OSM defaults")
        if not isinstance(raw, dict):
            raise DataFileError(f"{source}: expected a JSON object, found {type(raw).__name__}")
        values = {
            k: v["value"] if isinstance(v, dict) and "value" in v else v
            for k, v in raw.items()
            if k != "about"
        }
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            problems = [_problem(e) for e in exc.errors()]
            fields = ", ".join(dict.fromkeys(p.column for p in problems))
            raise ValidationError(problems, what=f"OSM defaults {source} ({fields})") from exc


def _problem(error: Any) -> Problem:
    field = ".".join(str(p) for p in error["loc"] if p != "[key]")
    if error["type"] == "extra_forbidden":
        return Problem("osm_defaults", field, "a known key (see data/osm_defaults.json)", ())
    message = re.sub(r"^(Input should be |Value error, )", "", str(error["msg"]))
    message = message[:1].lower() + message[1:]
    return Problem("osm_defaults", field, message, (), found=repr(error.get("input"))[:80])
