"""HTML pages from view models: Jinja2 templates plus the inline SVG charts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from impact_dashboard import charts, decisions
from impact_dashboard.model import RunView
from impact_dashboard.runs import RunRow


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _sig(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3g}"


def _breakable(value: str | None) -> Markup:
    """``value`` escaped, with a line-break opportunity after each ``_`` and ``-``."""
    if value is None:
        return Markup("—")
    text = str(escape(value))
    return Markup(text.replace("_", "_<wbr>").replace("-", "-<wbr>"))


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+,.2f}"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("impact_dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=_num,
        sig=_sig,
        breakable=_breakable,
        money=_money,
        signed=_signed,
        when=_when,
        exact=repr,
    )
    env.globals["css"] = Markup(asset("style.css"))
    return env


def asset(name: str) -> str:
    """A file shipped next to the templates (the stylesheet, the live script)."""
    return files("impact_dashboard").joinpath("templates", name).read_text(encoding="utf-8")


def run_charts(view: RunView) -> dict[str, Any]:
    return {
        "effects": charts.effect_chart(view.portfolio),
        "scatter": charts.predicted_actual_chart(view.outcomes),
        "waterfalls": {i: charts.waterfall(i, hops) for i, hops in view.chains.items()},
    }


def runs_page(rows: list[RunRow]) -> str:
    return environment().get_template("runs.html").render(rows=rows)


def run_page(view: RunView) -> str:
    """The live run page: the sections now, then live.js follows the run; the approval
    form while the run awaits approval (``decisions``)."""
    approval = decisions.portfolio(view) if decisions.awaiting_approval(view) else None
    return (
        environment()
        .get_template("run.html")
        .render(view=view, charts=run_charts(view), approval=approval)
    )


def run_sections(view: RunView) -> str:
    """The run page's body alone, as pushed over server-sent events."""
    return environment().get_template("sections.html").render(view=view, charts=run_charts(view))


def report_page(view: RunView, written_at: datetime | None = None) -> str:
    """One self-contained HTML file: inline CSS and SVG, no script, no link out."""
    stamp = _when(written_at or datetime.now(UTC))
    return (
        environment()
        .get_template("report.html")
        .render(view=view, charts=run_charts(view), written_at=stamp)
    )
