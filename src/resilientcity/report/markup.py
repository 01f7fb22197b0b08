"""Small HTML helpers shared by the report's sections: escaped text, numbers and tables.

Every string from data goes through :func:`esc` (or a :func:`html_table` cell, which escapes
it), so section bodies built with these helpers are safe to insert as they are.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["esc", "fmt_num", "html_table"]


def esc(value: object) -> str:
    """``value`` as text, HTML-escaped (quotes included).

    Parameters
    ----------
    value
        Anything; converted with :class:`str`.

    Returns
    -------
    str
        The escaped text.
    """
    return html.escape(str(value))


def fmt_num(value: float) -> str:
    """A number with thousands separators; one decimal only for small fractional numbers.

    Parameters
    ----------
    value
        The number.

    Returns
    -------
    str
        ``"12,345"`` for numbers of 100 or more and for whole numbers, else ``"12.3"``.
    """
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 100 or value.is_integer() else f"{value:,.1f}"


def html_table(
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    caption: str = "",
    foot: Sequence[object] | None = None,
) -> str:
    """A table of plain-text cells (escaped).

    The first column heads its row; numbers (and the headings of columns that hold some) are
    right-aligned (class ``num``).

    Parameters
    ----------
    head
        Column headings, one per column.
    rows
        The body's rows, each with one cell per column.
    caption
        The table's caption (none when empty).
    foot
        A footer row (totals), or ``None``.

    Returns
    -------
    str
        The ``<table>`` markup.
    """

    def row(cells: Sequence[object]) -> str:
        first, *rest = cells
        tds = "".join(
            f'<td class="num">{esc(c)}</td>' if _numeric(c) else f"<td>{esc(c)}</td>" for c in rest
        )
        return f'<tr><th scope="row">{esc(first)}</th>{tds}</tr>'

    out = ["<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    right = [i > 0 and any(_numeric(r[i]) for r in rows) for i in range(len(head))]
    num = ' class="num"'
    ths = "".join(
        f'<th scope="col"{num if r else ""}>{esc(h)}</th>' for h, r in zip(head, right, strict=True)
    )
    out.append(f"<thead><tr>{ths}</tr></thead>")
    out.append("<tbody>" + "".join(row(r) for r in rows) + "</tbody>")
    if foot is not None:
        out.append(f"<tfoot>{row(foot)}</tfoot>")
    out.append("</table>")
    return "".join(out)


def _numeric(cell: object) -> bool:
    """Whether a cell's text is a number (separators, decimal point and ``%`` allowed)."""
    text = str(cell).replace(",", "").replace(".", "").replace("%", "").strip()
    return text.lstrip("-").isdigit()
