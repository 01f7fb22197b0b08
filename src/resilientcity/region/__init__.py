"""Regional profiles: the conventions of a city's country that every stage reads."""

from resilientcity.region.profile import (
    PACKAGED_PROFILES,
    RegionProfile,
    profile_of,
    region_profile,
    stored_profile,
)

__all__ = ["PACKAGED_PROFILES", "RegionProfile", "profile_of", "region_profile", "stored_profile"]
