"""Countries and subdivisions by ISO 3166 code, their continent and their JRC construction costs.

Codes are checked with pycountry (the ISO 3166-1 and 3166-2 databases of Debian's iso-codes);
the continent comes from country_converter (``continent`` classification), and picks the JRC
flood curves (the package carries the Europe, Asia and global curves; other continents take the
global ones). Construction costs per country are the JRC table (Huizinga et al. 2017), packaged
as ``data/regions/jrc_construction_cost.csv`` with its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import pandas as pd

from resilientcity.errors import Problem, ValidationError

__all__ = ["Country", "Subdivision", "country_of", "jrc_costs", "unknown_region"]

#: The continents of country_converter whose JRC curves the package carries.
_JRC_CONTINENTS: dict[str, Literal["europe", "asia"]] = {"Europe": "europe", "Asia": "asia"}


@dataclass(frozen=True)
class Country:
    """A country: ISO 3166-1 codes, English short name, continent and its JRC curve family."""

    alpha2: str
    alpha3: str
    name: str
    continent: str
    jrc_continent: Literal["europe", "asia", "global"]


@dataclass(frozen=True)
class Subdivision:
    """An ISO 3166-2 subdivision: code and name."""

    code: str
    name: str


def unknown_region(code: str, why: str) -> ValidationError:
    """The error of a region code that names no country, subdivision or profile."""
    from resilientcity.region.profile import PACKAGED_PROFILES

    return ValidationError(
        [
            Problem(
                "region",
                "code",
                "an ISO 3166-1 alpha-2 country code (FI), an ISO 3166-2 subdivision code "
                f"(FI-18), a packaged profile ({', '.join(PACKAGED_PROFILES)}) or a profile "
                "file (.json/.yaml)",
                found=f"{code!r}: {why}",
            )
        ],
        what="region",
    )


@cache
def _continent(alpha3: str) -> str:
    import country_converter

    found = country_converter.CountryConverter().convert(alpha3, src="ISO3", to="continent")
    return str(found) if isinstance(found, str) and found != "not found" else ""


def country_of(code: str) -> tuple[Country, Subdivision | None]:
    """The country (and subdivision) of an ISO 3166-1 alpha-2 or ISO 3166-2 code.

    Raises
    ------
    ValidationError
        ``code`` is not a known alpha-2 code or subdivision code (one line).
    """
    import pycountry

    text = code.strip().upper()
    subdivision = None
    if "-" in text:
        found = pycountry.subdivisions.get(code=text)
        if found is None:
            raise unknown_region(code, "no ISO 3166-2 subdivision has this code")
        subdivision = Subdivision(found.code, found.name)
        text = found.country_code
    if len(text) != 2 or not text.isalpha():
        raise unknown_region(code, "not a two-letter country code")
    country = pycountry.countries.get(alpha_2=text)
    if country is None:
        raise unknown_region(code, "no ISO 3166-1 country has this code")
    continent = _continent(country.alpha_3)
    jrc: Literal["europe", "asia", "global"] = _JRC_CONTINENTS.get(continent, "global")
    name = getattr(country, "common_name", None) or country.name
    return Country(country.alpha_2, country.alpha_3, name, continent, jrc), subdivision


@cache
def _jrc_table() -> pd.DataFrame:
    path = resources.files("resilientcity").joinpath("data/regions/jrc_construction_cost.csv")
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv, comment="#")
    return table.set_index("ISO A3 code")


def jrc_costs(alpha3: str) -> tuple[float, float, float]:
    """Residential, commercial and industrial construction cost (2010 EUR per m²) of a country.

    Raises
    ------
    ValidationError
        The JRC table has no value for the country (the message says to give a profile file).
    """
    table = _jrc_table()
    columns = [c for c in table.columns if c.startswith("Construction Cost")]
    costs = (
        tuple(float(v) for v in table.loc[alpha3, columns].to_numpy(dtype=float))
        if alpha3 in table.index
        else ()
    )
    if len(costs) != 3 or min(costs) <= 0:
        raise unknown_region(
            alpha3,
            "the JRC table of construction costs has no value for this country; give a "
            "profile file with construction_cost_per_m2",
        )
    residential, commercial, industrial = costs
    return residential, commercial, industrial
