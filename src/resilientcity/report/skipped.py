"""The report's section of what the run skipped or ran only in part, and why.

A city imported from OpenStreetMap often lacks what a stage needs (a DEM, a hospital, a
warehouse …): the run skips that stage instead of failing
(:func:`~resilientcity.scenario.capabilities.city_capabilities`), and the report says so first,
so that no one reads a missing number as a zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from resilientcity.report.html import Section
from resilientcity.report.markup import html_table

__all__ = ["skipped_section"]


def skipped_section(skipped: Mapping[str, str], limited: Mapping[str, str]) -> Section | None:
    """The stages skipped (with the reason) and those that ran in part; ``None`` when none.

    Parameters
    ----------
    skipped, limited
        The ``skipped`` and ``limited`` blocks of ``summary.json`` (stage → reason in words).
    """
    if not skipped and not limited:
        return None
    parts = [
        '<p class="note">The city lacks what these stages need. Their numbers are absent from '
        "this report and from summary.json, not zero.</p>"
    ]
    if skipped:
        rows = [(stage.replace("_", " "), reason) for stage, reason in skipped.items()]
        parts.append(html_table(("stage", "skipped because"), rows, "Skipped"))
    if limited:
        rows = [(stage.replace("_", " "), lacking) for stage, lacking in limited.items()]
        parts.append(html_table(("stage", "ran without"), rows, "Ran in part"))
    return Section("Skipped stages", "\n".join(parts))
