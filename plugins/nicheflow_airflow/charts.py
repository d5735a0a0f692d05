"""Charts of the Review UI, drawn on the server as inline SVG: no JavaScript, no build step, nothing fetched
from a CDN. Three kinds:

    line_chart       one or several series over x (numbers or dates): axes, ticks, tick labels, a legend,
                     an optional shaded area under each line, a dot per point with its value as a tooltip
    retention_chart  an audience retention curve (share of viewers still watching over the video's time),
                     with vertical markers and labels at given times (segment boundaries)
    bar_chart        grouped bars: a value per group (a stage, a provider) and series (median, p95, p99)

Every chart is an `<svg role="img">` with a `<title>` and a `<desc>` that screen readers announce; text is
drawn in `currentColor`, so it follows the page's light or dark colours. All text is escaped. The module
imports only the standard library (Airflow imports every file of the plugins folder in every component)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from itertools import count

PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2")
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """A named line: points (x, y), x a number or a date."""

    name: str
    points: Sequence[tuple[float | date, float]]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _num(v: float) -> str:
    """A tick or value label: 1234 -> 1,234; 12500 -> 12.5k; 0.25 -> 0.25."""
    if abs(v) >= 10_000:
        for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:.3g}{suffix}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:.3g}"


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi], about n of them, at steps of 1, 2, 2.5 or 5 times a power of ten
    (whole steps when `integer`)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = (lo - 1, hi + 1) if lo else (0.0, 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


@dataclass(frozen=True)
class _Frame:
    """The plot area of a chart and its two linear scales."""

    width: int
    height: int
    x0: float
    x1: float
    y0: float
    y1: float
    left: int = 60
    right: int = 18
    top: int = 16
    bottom: int = 44

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1
        return round(self.left + (v - self.x0) / span * (self.width - self.left - self.right), 2)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1
        return round(
            self.height - self.bottom - (v - self.y0) / span * (self.height - self.top - self.bottom), 2
        )

    def axes(
        self, xticks: Sequence[tuple[float, str]], yticks: Sequence[float], yfmt: Callable[[float], str]
    ) -> list[str]:
        base, l_, r_ = self.height - self.bottom, self.left, self.width - self.right
        out = ['<g class="grid" stroke="currentColor" stroke-opacity="0.15">']
        out += [f'<line x1="{l_}" x2="{r_}" y1="{self.y(t)}" y2="{self.y(t)}"/>' for t in yticks]
        out.append("</g>")
        out.append('<g class="y-axis" font-size="11" fill="currentColor" text-anchor="end">')
        out += [f'<text x="{l_ - 6}" y="{self.y(t) + 4}">{_e(yfmt(t))}</text>' for t in yticks]
        out.append("</g>")
        out.append(
            f'<g class="x-axis" font-size="11" fill="currentColor" text-anchor="middle">'
            f'<line x1="{l_}" x2="{r_}" y1="{base}" y2="{base}" stroke="currentColor" stroke-opacity="0.6"/>'
        )
        for t, label in xticks:
            x = self.x(t)
            out.append(f'<line x1="{x}" x2="{x}" y1="{base}" y2="{base + 4}" stroke="currentColor"/>')
            out.append(f'<text x="{x}" y="{base + 17}">{_e(label)}</text>')
        out.append("</g>")
        return out


def _svg(frame: _Frame, title: str, desc: str, body: list[str], css_class: str) -> str:
    n = next(_ids)
    tid, did = f"chart{n}-title", f"chart{n}-desc"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
            f'viewBox="0 0 {frame.width} {frame.height}" width="100%" style="max-width:{frame.width}px" '
            f'aria-labelledby="{tid} {did}" font-family="system-ui, sans-serif">',
            f'<title id="{tid}">{_e(title)}</title>',
            f'<desc id="{did}">{_e(desc or title)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _as_x(v: float | date) -> float:
    return float(v.toordinal()) if isinstance(v, date) else float(v)


def _date_label(v: float) -> str:
    return date.fromordinal(int(v)).strftime("%b %d")


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    y_label: str = "",
    x_format: Callable[[float], str] | None = None,
    y_format: Callable[[float], str] = _num,
    area: bool = True,
    width: int = 760,
    height: int = 260,
) -> str:
    """An SVG line chart of one or several series; with dates as x, ticks fall on whole days and read
    "Mar 03". Each point is a dot whose tooltip says its series, x and y. The y axis starts at 0 (counts)."""
    dated = any(isinstance(x, date) for s in series for x, _ in s.points)
    fmt = x_format or (_date_label if dated else _num)
    pts = [[(_as_x(x), float(y)) for x, y in s.points] for s in series]
    xs = [x for p in pts for x, _ in p]
    ys = [y for p in pts for _, y in p]
    if not xs:
        frame = _Frame(width, height, 0, 1, 0, 1)
        body = frame.axes([], [0, 1], y_format)
        body.append(
            f'<text class="no-data" x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="currentColor">'
            "no data yet</text>"
        )
        return _svg(frame, title, desc, body, "line-chart")
    yticks = nice_ticks(min(0.0, *ys), max(ys) or 1.0)
    xlo, xhi = min(xs), max(xs)
    if xlo == xhi:
        xlo, xhi = xlo - 1, xhi + 1
    frame = _Frame(width, height, xlo, xhi, yticks[0], yticks[-1])
    xticks = [(t, fmt(t)) for t in nice_ticks(xlo, xhi, 6, integer=dated) if xlo <= t <= xhi]
    body = frame.axes(xticks, yticks, y_format)
    if y_label:
        body.append(
            f'<text class="y-label" font-size="11" fill="currentColor" transform="rotate(-90)" '
            f'x="{-(frame.top + (height - frame.top - frame.bottom) / 2)}" y="14" text-anchor="middle">'
            f"{_e(y_label)}</text>"
        )
    base = frame.y(max(frame.y0, 0.0))
    for i, (s, p) in enumerate(zip(series, pts, strict=True)):
        colour = PALETTE[i % len(PALETTE)]
        p = sorted(p)
        coords = " ".join(f"{frame.x(x)},{frame.y(y)}" for x, y in p)
        body.append(f'<g class="series" data-series="{_e(s.name)}">')
        if area and len(p) > 1:
            d = (
                f"M{frame.x(p[0][0])},{base} L"
                + " L".join(coords.split(" "))
                + f" L{frame.x(p[-1][0])},{base} Z"
            )
            body.append(f'<path class="area" d="{d}" fill="{colour}" fill-opacity="0.12" stroke="none"/>')
        body.append(
            f'<polyline class="line" points="{coords}" fill="none" stroke="{colour}" stroke-width="2" '
            'stroke-linejoin="round"/>'
        )
        for x, y in p:
            body.append(
                f'<circle cx="{frame.x(x)}" cy="{frame.y(y)}" r="2.5" fill="{colour}">'
                f"<title>{_e(s.name)}, {_e(fmt(x))}: {_e(y_format(y))}</title></circle>"
            )
        body.append("</g>")
    if len(series) > 1:
        body.append('<g class="legend" font-size="12" fill="currentColor">')
        x = frame.left
        for i, s in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            body.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>')
            body.append(f'<text x="{x + 14}" y="{height - 5}">{_e(s.name)}</text>')
            x += 24 + 7 * len(s.name)
        body.append("</g>")
    return _svg(frame, title, desc, body, "line-chart")


def clock(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[: n - 1].rstrip() + "…"


def retention_chart(
    points: Sequence[tuple[float, float]],
    *,
    duration: float | None,
    boundaries: Sequence[tuple[float, str]] = (),
    title: str,
    desc: str = "",
    width: int = 760,
    height: int = 280,
) -> str:
    """An SVG audience retention curve: `points` are (elapsed ratio 0-1, audience watch ratio, 1 = every
    viewer), drawn as the share of viewers still watching over the video's time (seconds when `duration` is
    known, else percent of the video). `boundaries` (seconds, label), e.g. where each segment starts, become
    vertical markers with their labels (shortened on the chart, whole in the marker's tooltip); they need
    the duration, and ones outside the video are left out."""
    pts = sorted((float(r), float(w) * 100) for r, w in points)
    span = float(duration) if duration else 100.0
    fmt: Callable[[float], str] = clock if duration else (lambda v: f"{v:g}%")
    ytop = max([100.0, *(w for _, w in pts)])
    yticks = nice_ticks(0, ytop, 5)
    frame = _Frame(width, height, 0, span, 0, yticks[-1], top=34)
    xticks = [(t, fmt(t)) for t in nice_ticks(0, span, 6, integer=bool(duration)) if t <= span]
    body = frame.axes(xticks, yticks, lambda v: f"{v:g}%")
    marks = [(float(s), str(lbl)) for s, lbl in boundaries if duration and 0 <= float(s) <= span]
    body.append('<g class="boundaries" font-size="11" fill="currentColor">')
    for i, (s, label) in enumerate(marks):
        x, ty = frame.x(s), 12 if i % 2 == 0 else 26
        body.append(
            f'<g class="boundary" data-seconds="{s:g}"><title>{_e(label)} (from {_e(clock(s))})</title>'
            f'<line x1="{x}" x2="{x}" y1="{ty + 3}" y2="{height - frame.bottom}" stroke="currentColor" '
            'stroke-opacity="0.55" stroke-dasharray="4 3"/>'
            f'<text x="{x + 3}" y="{ty}">{_e(_short(label))}</text></g>'
        )
    body.append("</g>")
    if pts:
        coords = " ".join(f"{frame.x(r * span)},{frame.y(w)}" for r, w in pts)
        base = frame.y(0)
        d = (
            f"M{frame.x(pts[0][0] * span)},{base} L"
            + " L".join(coords.split(" "))
            + f" L{frame.x(pts[-1][0] * span)},{base} Z"
        )
        body.append('<g class="series" data-series="audience retention">')
        body.append(f'<path class="area" d="{d}" fill="{PALETTE[0]}" fill-opacity="0.12" stroke="none"/>')
        body.append(
            f'<polyline class="line" points="{coords}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        body.append("</g>")
    else:
        body.append(
            f'<text class="no-data" x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="currentColor">'
            "no retention data yet</text>"
        )
    body.append(
        f'<text class="x-label" font-size="11" fill="currentColor" x="{width - frame.right}" y="{height - 4}" '
        f'text-anchor="end">{"video time" if duration else "share of the video"}</text>'
    )
    return _svg(frame, title, desc, body, "retention-chart")


def bar_chart(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    desc: str = "",
    y_label: str = "",
    y_format: Callable[[float], str] = _num,
    width: int = 760,
    height: int = 260,
) -> str:
    """An SVG chart of grouped bars: one group per label of `groups` (a stage, a provider), one bar per series
    (median, p95, ...) in each, with its value as a tooltip; a None value draws no bar. The y axis starts at 0."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not groups or not values:
        frame = _Frame(width, height, 0, 1, 0, 1)
        body = frame.axes([], [0, 1], y_format)
        body.append(
            f'<text class="no-data" x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="currentColor">'
            "no data yet</text>"
        )
        return _svg(frame, title, desc, body, "bar-chart")
    yticks = nice_ticks(0.0, max(values) or 1.0)
    frame = _Frame(width, height, 0, len(groups), 0, yticks[-1])
    body = frame.axes([(i + 0.5, _short(g, 16)) for i, g in enumerate(groups)], yticks, y_format)
    if y_label:
        body.append(
            f'<text class="y-label" font-size="11" fill="currentColor" transform="rotate(-90)" '
            f'x="{-(frame.top + (height - frame.top - frame.bottom) / 2)}" y="14" text-anchor="middle">'
            f"{_e(y_label)}</text>"
        )
    slot = (frame.x(1) - frame.x(0)) * 0.8 / max(len(series), 1)
    base = frame.y(0)
    for j, (name, vs) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        body.append(f'<g class="series" data-series="{_e(name)}" fill="{colour}">')
        for i, (g, v) in enumerate(zip(groups, vs, strict=True)):
            if v is None:
                continue
            x = round(frame.x(i) + (frame.x(1) - frame.x(0)) * 0.1 + j * slot, 2)
            top = frame.y(v)
            body.append(
                f'<rect class="bar" x="{x}" y="{top}" width="{round(slot * 0.9, 2)}" '
                f'height="{round(base - top, 2)}"><title>{_e(g)}, {_e(name)}: {_e(y_format(v))}</title></rect>'
            )
        body.append("</g>")
    if len(series) > 1:
        body.append('<g class="legend" font-size="12" fill="currentColor">')
        x = frame.left
        for j, (name, _) in enumerate(series):
            body.append(
                f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            )
            body.append(f'<text x="{x + 14}" y="{height - 5}">{_e(name)}</text>')
            x += 24 + 7 * len(name)
        body.append("</g>")
    return _svg(frame, title, desc, body, "bar-chart")
