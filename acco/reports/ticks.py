"""Plain, readable tick labels for the figures' log axes (no `8.7726×10⁻¹` mathtext, no crowding).

Matplotlib labels a log axis spanning less than a decade with minor-tick labels in scientific mathtext,
and one spanning many decades with a label per decade. `plain_log_axis` puts at most `MAX_TICKS` labelled
ticks at round values (1-2-5 per decade, or evenly in log space within one decade), written plainly.
"""

from __future__ import annotations

import math

import numpy as np

MAX_TICKS = 6


def plain_number(x: float) -> str:
    """A tick value as short plain text: `0.877`, `12`, `3.5e+06` only beyond 6 digits."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.3g}"


def log_ticks(lo: float, hi: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """At most `max_ticks` round tick values within [lo, hi] (lo, hi > 0) for a log axis."""
    if not (lo > 0 and hi > lo):
        return [lo] if lo > 0 else []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for subs in ((1, 2, 5), (1, 3), (1,)):
        cand = [m * 10.0**e for e in range(e0, e1 + 1) for m in subs if lo <= m * 10.0**e <= hi]
        if 2 <= len(cand) <= max_ticks:
            return cand
        if len(cand) > max_ticks and subs == (1,):
            step = math.ceil(len(cand) / max_ticks)
            return cand[::step]
    # less than a decade and no round value inside: values evenly spaced in log space, rounded to the
    # fewest significant digits that keep them inside and apart
    vals = np.geomspace(lo, hi, 4)[1:-1]
    for digits in range(2, 8):
        out = sorted({float(f"{v:.{digits}g}") for v in vals})
        if len(out) == len(vals) and all(lo <= r <= hi for r in out):
            return out
    return [float(v) for v in vals]


def plain_log_axis(ax, axis: str = "x", max_ticks: int = MAX_TICKS) -> None:  # type: ignore[no-untyped-def]
    """Fix a log axis's ticks to `log_ticks` of its current limits, labelled by `plain_number`, no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    a = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    ticks = log_ticks(lo, hi, max_ticks)
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(FuncFormatter(lambda x, _pos: plain_number(x)))
    a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())


__all__ = ["MAX_TICKS", "log_ticks", "plain_log_axis", "plain_number"]
