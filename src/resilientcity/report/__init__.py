"""The report of a run: one self-contained HTML page that opens offline.

The city twin's part (key facts, tables, the map and charts) is built in; later pipeline stages
add :class:`Section` objects::

    from resilientcity.report import Section, write_report
    write_report("report.html", city, summary, [Section("Flood hazard", body_html)])
"""

from resilientcity.report.html import Section, figure_html, render_report, write_report

__all__ = ["Section", "figure_html", "render_report", "write_report"]
