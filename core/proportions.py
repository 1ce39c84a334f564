"""Shares and breakdowns written so that a reader never mistakes a loss for none.

``f"{0.99997:.2%}"`` prints ``100.00%`` although a row was lost; a list of categories that does not add up to the
total makes the reader wonder where the rest went. These helpers print counts and as many decimals as it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

OTHER = "other"  # the part of a total no named category accounts for (shown, never dropped)


def percent(part: int, whole: int, decimals: int = 2) -> str:
    """``part / whole`` as a percentage with at least ``decimals`` decimals, and more when fewer would round
    something short of all up to ``100%`` or something above none down to ``0%``.

    ``percent(37_847, 37_848)`` is ``'99.997%'``, ``percent(1, 3)`` ``'33.33%'``, ``percent(0, 0)`` ``'n/a'``.
    Exact (rational) arithmetic, half-to-even rounding.
    """
    if whole <= 0:
        return "n/a"
    if not 0 <= part <= whole:
        raise ValueError(f"a share needs 0 <= part <= whole, got {part} of {whole}")
    return _percent(Fraction(100 * part, whole), decimals)


def rate_percent(rate: float, decimals: int = 2) -> str:
    """A rate in 0..1 (``0.99997``) as :func:`percent` shows it (``'99.997%'``): never ``100%`` below 1."""
    if not 0 <= rate <= 1:
        raise ValueError(f"a rate lies in 0..1, got {rate}")
    return _percent(Fraction(rate) * 100, decimals)


def _percent(value: Fraction, decimals: int) -> str:
    places = max(decimals, 0)
    while True:
        scaled = round(value * 10**places)
        hides_a_loss = value < 100 and scaled >= 100 * 10**places
        hides_a_gain = value > 0 and scaled == 0
        if not (hides_a_loss or hides_a_gain):
            return _fixed(scaled, places) + "%"
        places += 1


def share(part: int, whole: int, decimals: int = 2) -> str:
    """``'37,847 of 37,848 (99.997%)'``: the counts and the percentage."""
    return f"{part:,} of {whole:,} ({percent(part, whole, decimals)})"


def accounted(total: int, parts: Mapping[str, int]) -> dict[str, int]:
    """``parts`` in their order, plus :data:`OTHER` for what they do not account for, so the values always add
    up to ``total`` (parts that exceed it give a negative ``other``: shown, because it is a bug to see)."""
    rest = total - sum(parts.values())
    return {**parts, OTHER: rest} if rest else dict(parts)


def breakdown(
    total: int, parts: Mapping[str, int], label: str = "", skip_zero: bool = False, keep: tuple[str, ...] = ()
) -> str:
    """``'12 processed = 8 loaded + 3 partial + 1 quarantined'``: a total and the categories that add up to it.

    With ``skip_zero`` the empty categories are left out (the sum still holds), except those in ``keep``; a
    total of 0 with nothing in it is just ``'0 processed'``."""
    head = f"{total:,} {label}".rstrip()
    shown = {k: v for k, v in accounted(total, parts).items() if v or not skip_zero or k in keep}
    if not total and not any(shown.values()):
        return head
    return f"{head} = " + " + ".join(f"{v:,} {k}" for k, v in shown.items())


def _fixed(scaled: int, places: int) -> str:
    """``scaled / 10**places`` in fixed notation (``_fixed(99997, 3)`` is ``'99.997'``)."""
    if places == 0:
        return str(scaled)
    digits = str(scaled).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"
