"""The executive summary and the why-not reasons of a ``run_completed`` payload, for the
terminal (``impact run``, ``impact tail``): pure, plus the rich rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from impact_observe.executive import ExecutiveSummary, executive_summary
from impact_observe.reasons import (
    Reason,
    allocation_settings,
    candidates_from_completed,
    dropped_at_approval,
    reasons,
    rule_used,
)
from rich.console import Group
from rich.panel import Panel
from rich.text import Text


def manifest_brief(manifest: Any) -> dict[str, Any]:
    """What the reasons need of a loaded ``Manifest``: budget, costs, allocate settings."""
    return {
        "budget": manifest.budget,
        "allocate": {"component": manifest.allocate.component, "kwargs": manifest.allocate.kwargs},
        "initiatives": [
            {"initiative_id": s.initiative_id, "cost_to_scale": s.cost_to_scale}
            for s in manifest.initiatives
        ],
    }


def explain(
    completed: Mapping[str, Any],
    manifest: Mapping[str, Any] | None = None,
    rule: str | None = None,
) -> tuple[dict[str, Reason], ExecutiveSummary]:
    """Per initiative its reason, and the executive summary, of a finished run;
    ``rule``: the allocation's (``AllocateResult.rule``), else the manifest's."""
    summary = dict(completed.get("summary") or {})
    threshold, configured = allocation_settings(dict(manifest) if manifest else None)
    rule = rule or rule_used(configured, summary.get("estimates"))
    candidates = candidates_from_completed(dict(completed), dict(manifest) if manifest else None)
    budget = summary.get("budget", (manifest or {}).get("budget"))
    dropped = dropped_at_approval([summary.get("reason")])
    why = reasons(candidates, budget=budget, threshold=threshold, rule=rule, dropped=dropped)
    n = summary.get("n_initiatives") or len(candidates)
    return why, executive_summary(
        candidates,
        why,
        budget=budget,
        status=str(completed.get("status", "completed")),
        summary=summary,
        threshold=threshold,
        n_initiatives=n,
    )


def executive_panel(summary: ExecutiveSummary) -> Panel:
    """The summary as a rich panel: the headline, then one bullet per reason."""
    lines = [Text(summary.headline(), style="bold")]
    lines += [Text(f"• {point}") for point in summary.points]
    return Panel(Group(*lines), title="Executive summary", title_align="left")


def run_problem(completed: Mapping[str, Any]) -> str | None:
    """One line when the run failed or any initiative failed (the exit code is then 1),
    else None: ``run failed: 2 of 3 initiatives failed (b at measure, c at scale)``."""
    failures = list(completed.get("failures") or [])
    status = str(completed.get("status", "completed"))
    if status == "completed" and not failures:
        return None
    summary = completed.get("summary") or {}
    n = summary.get("n_initiatives")
    failed = sorted({f["initiative_id"]: f["stage"] for f in failures}.items())
    where = ", ".join(f"{i} at {stage}" for i, stage in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    details = []
    if failed:
        of = f" of {n}" if n else ""
        details.append(f"{len(failed)}{of} initiatives failed ({where}{more})")
    if status != "completed" and summary.get("reason"):
        details.append(str(summary["reason"]))
    return f"run {status}" + (": " + "; ".join(details) if details else "")
