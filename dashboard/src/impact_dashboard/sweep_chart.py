"""``impact sweep --chart FILE``: predicted value against budget as one inline SVG (pure
but for the write), with the 95 % interval as a bar at each budget. ``.html`` wraps the
SVG and the table in a self-contained page; any other suffix gets the bare SVG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from impact_dashboard.charts import Scale, _line, _number, _svg

if TYPE_CHECKING:
    from impact_orchestrator.sweep import Sweep

WIDTH, HEIGHT = 640, 320
#: Up to this many budgets, each is labelled on the x axis (else round ticks).
MAX_LABELLED = 8
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 40


def sweep_chart(sweep: Sweep, title: str) -> Markup:
    """Budget on x, predicted value on y: a line through the points, each with its
    interval; every point carries ``class="point"`` and ``data-budget``/``data-predicted``."""
    points = [p for p in sweep.points if p.failure is None]
    values = [p.predicted for p in points]
    values += [v for p in points for v in (p.predicted_lower, p.predicted_upper) if v is not None]
    x = Scale.over([p.budget for p in points], LEFT, WIDTH - RIGHT)
    y = Scale.over([*values, 0.0], HEIGHT - BOTTOM, TOP)
    heading = f"{title}: predicted value{f' ({sweep.unit})' if sweep.unit else ''} by budget"
    body = [f'<text x="{LEFT}" y="16" font-weight="bold">{escape(heading)}</text>']
    for tick in y.ticks():
        body.append(_line(LEFT, WIDTH - RIGHT, y(tick), y(tick), "#eee"))
        body.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    for tick in [p.budget for p in points] if len(points) <= MAX_LABELLED else x.ticks():
        body.append(
            f'<text x="{x(tick):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
            f"{_number(tick)}</text>"
        )
    body.append(_line(LEFT, WIDTH - RIGHT, y(0.0), y(0.0), "#888"))
    body.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        "budget</text>"
    )
    path = " ".join(f"{x(p.budget):.1f},{y(p.predicted):.1f}" for p in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="#1f6fb2" stroke-width="2"/>')
    for p in points:
        if p.predicted_lower is not None and p.predicted_upper is not None:
            cx = x(p.budget)
            body.append(
                _line(
                    cx,
                    cx,
                    y(p.predicted_lower),
                    y(p.predicted_upper),
                    "#9cc3e6",
                    ' stroke-width="6"',
                )
            )
        body.append(
            f'<circle class="point" cx="{x(p.budget):.1f}" cy="{y(p.predicted):.1f}" r="4" '
            f'fill="#1f6fb2" data-budget="{p.budget:g}" data-predicted="{p.predicted:.6g}">'
            f"<title>budget {p.budget:,.0f}: predicted {p.predicted:,.2f}, "
            f"{len(p.selected)} selected</title></circle>"
        )
    return _svg(WIDTH, HEIGHT, body, f"{title}: predicted value against budget")


def write_chart(sweep: Sweep, path: Path, title: str) -> None:
    """Write the chart to ``path``: an HTML page for ``.html``/``.htm``, else the SVG."""
    svg = sweep_chart(sweep, title)
    if path.suffix.lower() not in (".html", ".htm"):
        path.write_text(str(svg), encoding="utf-8")
        return
    rows = "".join(
        f"<tr><td>{p.budget:,.0f}</td><td>{p.allocated:,.0f}</td><td>{p.predicted:,.2f}</td>"
        f"<td>{_interval(p.predicted_lower, p.predicted_upper)}</td>"
        f"<td>{escape(', '.join(p.selected))}</td></tr>"
        for p in sweep.points
    )
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        "</title><style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:2px 8px;"
        "text-align:right;white-space:nowrap}td:last-child,th:last-child{text-align:left;"
        "white-space:normal}</style></head><body>"
        f"{svg}<table><thead><tr><th>budget</th><th>allocated</th><th>predicted</th>"
        f"<th>95% interval</th><th>selected</th></tr></thead><tbody>{rows}</tbody></table>"
        "</body></html>"
    )
    path.write_text(page, encoding="utf-8")


def _interval(lower: float | None, upper: float | None) -> str:
    return "—" if lower is None or upper is None else f"[{lower:,.2f}, {upper:,.2f}]"
