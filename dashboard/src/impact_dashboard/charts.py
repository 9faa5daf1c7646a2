"""The dashboard's charts as inline SVG strings (pure; no JavaScript, no network).

Each mark carries ``class`` and ``data-*`` attributes naming what it shows, so a page can be
checked mark by mark, and a ``<title>`` with its numbers for the tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from impact_observe.lineage import Hop
from markupsafe import Markup, escape

from impact_dashboard.model import OutcomeRow, PortfolioRow

LABEL_WIDTH = 210
ROW_HEIGHT = 18
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Scale:
    """A linear map from ``[low, high]`` to pixels ``[start, end]``."""

    low: float
    high: float
    start: float
    end: float

    @classmethod
    def over(cls, values: Iterable[float], start: float, end: float) -> Scale:
        """A scale covering ``values`` with 5 % padding each side (and never empty)."""
        finite = [v for v in values if math.isfinite(v)] or [0.0]
        low, high = min(finite), max(finite)
        pad = (high - low) * 0.05 or max(abs(high), 1.0) * 0.05
        return cls(low - pad, high + pad, start, end)

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        """Round values inside the domain, about ``count`` of them."""
        raw = (self.high - self.low) / count
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.low / step) * step
        return [first + i * step for i in range(count + 2) if first + i * step <= self.high]


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def _svg(width: float, height: float, body: Sequence[str], label: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(label)}" {FONT}>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _line(x1: float, x2: float, y1: float, y2: float, stroke: str, extra: str = "") -> str:
    return (
        f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'
    )


def _x_axis(scale: Scale, y: float, top: float) -> list[str]:
    parts = [_line(scale.start, scale.end, y, y, "#888")]
    for tick in scale.ticks():
        x = scale(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle">{_number(tick)}</text>'
        )
    return parts


def effect_chart(rows: Sequence[PortfolioRow], width: float = 720) -> Markup:
    """Each measured initiative's pilot effect with its 95 % CI, selected ones filled."""
    measured = [r for r in rows if r.effect is not None]
    height = 30 + ROW_HEIGHT * max(len(measured), 1)
    values = [v for r in measured for v in (r.ci_lower, r.ci_upper) if v is not None]
    scale = Scale.over([*values, 0.0], LABEL_WIDTH, width - 15)
    bottom = height - 22
    parts = _x_axis(scale, bottom, 4)
    zero = scale(0.0)
    parts.append(_line(zero, zero, 4, bottom, "#555", ' stroke-dasharray="3 3"'))
    for index, r in enumerate(measured):
        assert r.effect is not None and r.ci_lower is not None and r.ci_upper is not None
        y = 4 + ROW_HEIGHT * index + ROW_HEIGHT / 2
        kind = "selected" if r.selected else "rejected"
        colour = "#1f6feb" if r.selected else "#999"
        name = escape(r.initiative_id)
        parts.append(
            f'<g class="effect {kind}" data-initiative="{name}">'
            f"<title>{name}: {_number(r.effect)} [{_number(r.ci_lower)}, {_number(r.ci_upper)}]"
            f" ({escape(r.why)})</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(r.initiative_id[:32])}</text>"
            f'<line x1="{scale(r.ci_lower):.1f}" x2="{scale(r.ci_upper):.1f}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{scale(r.effect):.1f}" cy="{y:.1f}" r="4" stroke="{colour}" '
            f'fill="{colour if r.selected else "white"}"/></g>'
        )
    return _svg(width, height, parts, "pilot effect with 95% CI per initiative")


def predicted_actual_chart(rows: Sequence[OutcomeRow], size: float = 420) -> Markup:
    """Scaled initiatives: predicted (x, with the pilot's CI) vs actual (y, with the scale
    measurement's CI); on the dashed diagonal the prediction was exact."""
    margin = 48
    values = [
        v
        for r in rows
        for v in (
            r.predicted,
            r.actual,
            r.predicted_lower,
            r.predicted_upper,
            r.actual_lower,
            r.actual_upper,
        )
        if v is not None
    ]
    x = Scale.over(values, margin, size - 12)
    y = Scale.over(values, size - margin, 12)
    parts = _x_axis(x, size - margin, 12)
    for tick in y.ticks():
        parts.append(_line(margin, size - 12, y(tick), y(tick), "#eee"))
        parts.append(
            f'<text x="{margin - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    parts.append(
        f'<line class="diagonal" x1="{x(x.low):.1f}" y1="{y(x.low):.1f}" x2="{x(x.high):.1f}" '
        f'y2="{y(x.high):.1f}" stroke="#555" stroke-dasharray="4 4"/>'
        f'<text x="{size / 2:.0f}" y="{size - 14}" text-anchor="middle">predicted (pilot)</text>'
        f'<text transform="translate(12 {size / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "actual (scale)</text>"
    )
    for r in rows:
        name = escape(r.initiative_id)
        cx, cy = x(r.predicted), y(r.actual)
        bars = ""
        if r.predicted_lower is not None and r.predicted_upper is not None:
            bars += (
                f'<line class="predicted-ci" x1="{x(r.predicted_lower):.1f}" '
                f'x2="{x(r.predicted_upper):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#1f6feb"/>'
            )
        if r.actual_lower is not None and r.actual_upper is not None:
            bars += (
                f'<line class="actual-ci" x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(r.actual_lower):.1f}" '
                f'y2="{y(r.actual_upper):.1f}" stroke="#d1242f"/>'
            )
        parts.append(
            f'<g class="outcome" data-initiative="{name}"><title>{name}: predicted '
            f"{_number(r.predicted)}, actual {_number(r.actual)}, error {r.error:+.3g}</title>"
            f'{bars}<circle class="mark" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#222"/></g>'
        )
    return _svg(size, size, parts, "predicted vs actual return per scaled initiative")


def hop_label(hop: Hop) -> str:
    return hop.event + (f" ({hop.phase})" if hop.phase else "")


def waterfall(initiative: str, hops: Sequence[Hop], width: float = 720) -> Markup:
    """One initiative's hops: each bar runs from its cause to the event, on a time axis
    starting at the manifest."""
    if not hops:
        return Markup("")
    start = hops[0].produced_at
    ends = [(h.produced_at - start).total_seconds() * 1000 for h in hops]
    height = 30 + ROW_HEIGHT * len(hops)
    scale = Scale(0.0, max(max(ends), 1.0) * 1.15, LABEL_WIDTH, width - 15)
    bottom = height - 22
    parts = _x_axis(scale, bottom, 4)
    for index, (hop, end) in enumerate(zip(hops, ends, strict=True)):
        begin = end - (hop.since_cause_ms or 0.0)
        y = 4 + ROW_HEIGHT * index
        label = escape(hop_label(hop))
        took = "" if hop.since_cause_ms is None else f"{hop.since_cause_ms:,.1f} ms"
        left, right = scale(max(begin, 0.0)), scale(end)
        parts.append(
            f'<g class="hop" data-hop="{label}"><title>{label}: {took or "start"} '
            f"at {hop.produced_at.isoformat()}</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12:.1f}" text-anchor="end">{label}</text>'
            f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{max(right - left, 1.5):.1f}" '
            f'height="{ROW_HEIGHT - 6}" fill="#2da44e"/>'
            f'<text x="{right + 4:.1f}" y="{y + 12:.1f}">{took}</text></g>'
        )
    parts.append(
        f'<text x="{width - 15}" y="{height - 2}" text-anchor="end">ms since the manifest</text>'
    )
    return _svg(width, height, parts, f"lineage of {initiative}")
