"""Charts as SVG made at build time: pages show them offline, without JavaScript, and under
a strict CSP (presentation attributes only, no style or script). Every text is escaped; each
chart has a <title>, Chinese axis labels, and its page a table of the same numbers beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 56
INK, GRID, ACCENT, NEGATIVE = "#333333", "#dddddd", "#b22222", "#2e6b30"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high == low:
        high, low = high + 1, low - 1 if low != 0 else 0
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.floor(low / step) * step
    ticks = []
    v = start
    while v <= high + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < high:
        ticks.append(round(v, 10))
    return ticks


def _label(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


def chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    x_label: str,
    y_label: str,
    kind: Literal["line", "bar"] = "line",
) -> Markup:
    """A line or bar chart of `values` (None: no point) over `labels`, as inline SVG."""
    known = [v for v in values if v is not None]
    low = min([*known, 0.0]) if kind == "bar" else min(known, default=0.0)
    high = max([*known, 0.0]) if kind == "bar" else max(known, default=1.0)
    ticks = _nice_ticks(low, high)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(values), 1)
    slot = plot_w / n

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y(v: float) -> float:
        return TOP + plot_h - (v - y0) / (y1 - y0) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2:.0f}" y="20" text-anchor="middle" font-size="15" fill="{INK}">'
        f"{escape(title)}</text>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">'
            f"{escape(_label(t))}</text>"
        )
    every = max(1, math.ceil(n / 12))  # at most a dozen labels under the axis
    for i, lab in enumerate(labels):
        if i % every == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="10"'
                f' fill="{INK}">{escape(lab)}</text>'
            )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12"'
        f' fill="{INK}">{escape(x_label)}</text>'
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" font-size="12" fill="{INK}"'
        f' transform="rotate(-90 14 {TOP + plot_h / 2:.0f})">{escape(y_label)}</text>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{INK}"/>'
    )
    if kind == "bar":
        base = y(max(min(0.0, y1), y0))
        for i, v in enumerate(values):
            if v is None:
                continue
            top = min(y(v), base)
            parts.append(
                f'<rect x="{x(i) - slot * 0.35:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}"'
                f' height="{abs(base - y(v)):.1f}" fill="{ACCENT if v >= 0 else NEGATIVE}">'
                f"<title>{escape(labels[i])}：{escape(_label(v))}</title></rect>"
            )
    else:
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
        for i, v in enumerate(values):
            if v is not None:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{ACCENT}">'
                    f"<title>{escape(labels[i])}：{escape(_label(v))}</title></circle>"
                )
    parts.append("</svg>")
    return Markup("\n".join(parts))
