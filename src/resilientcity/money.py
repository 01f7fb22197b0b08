"""Amounts of money in the city's currency, scaled for people to read.

Every value and loss of a city is in the currency of its regional profile
(:attr:`resilientcity.region.RegionProfile.currency`). Chinese reports count large amounts in
亿 (10⁸); other currencies in millions.
"""

from __future__ import annotations

__all__ = ["fmt_money", "money_scale"]


def money_scale(currency: str) -> tuple[float, str]:
    """The divisor and unit label for large amounts: ``(1e8, "亿 CNY")`` or ``(1e6, "M EUR")``."""
    if currency == "CNY":
        return 1e8, "亿 CNY"
    return 1e6, f"M {currency}"


def fmt_money(value: float, currency: str) -> str:
    """An amount in full, in the scaled unit and in billions.

    Returns
    -------
    str
        For example ``"123,456,789 CNY (1.23 亿 CNY; 0.12 billion CNY)"`` or
        ``"123,456,789 EUR (123.46 M EUR; 0.12 billion EUR)"``.
    """
    value = float(value)
    divisor, unit = money_scale(currency)
    return (
        f"{value:,.0f} {currency} ({value / divisor:,.2f} {unit}; "
        f"{value / 1e9:,.2f} billion {currency})"
    )
