"""Approve or reject a run that awaits approval, from its dashboard page.

The page shows a form while the run's latest ``approval`` status is the request (or a
refused command); ``POST /runs/{run_id}/approve`` and ``/reject`` publish the same
``run_command`` as ``impact approve``/``impact reject`` (``impact_observe.commands``) and send
the browser back to the run page, where the orchestrator's answer appears.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from impact_observe.commands import actor, publish_command
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from impact_dashboard.model import RunView
from impact_dashboard.source import RunSource

#: ``run_status`` messages of stage ``approval`` after which the run has been decided
DECIDED = ("approved ", "amended ", "rejected ")
MAX_FIELD = 2000


def awaiting_approval(view: RunView) -> bool:
    """Whether the run waits for a decision on its portfolio."""
    if view.finished:
        return False
    latest = next((s for s in view.stages if s.stage == "approval"), None)
    return latest is not None and not (latest.message or "").startswith(DECIDED)


def portfolio(view: RunView) -> list[str]:
    """The ids the allocation selected (what an amendment may drop)."""
    return [row.initiative_id for row in view.portfolio if row.selected]


async def decide(source: RunSource, request: Request, action: str) -> Response:
    """Publish ``action`` (approve or reject) for the run from the posted form (``by``,
    ``note``, and for approve ``keep`` per portfolio initiative left ticked); 303 back to
    the run page, 400 on a bad form."""
    run_id = request.path_params["run_id"]
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    note = (form.get("note") or [""])[0].strip() or None
    by = (form.get("by") or [""])[0].strip() or None
    drop: list[str] = []
    if action == "approve":  # the form ticks what to keep: the rest of the portfolio drops
        keep = set(form.get("keep", []))
        drop = [i for i in portfolio(await source.run(run_id)) if i not in keep]
    if any(len(v) > MAX_FIELD for v in [note or "", by or ""]):
        return PlainTextResponse(f"fields are limited to {MAX_FIELD} characters", 400)
    command = {"action": action, "actor": actor(by), "note": note, "drop": drop}
    await publish_command(source.bus, run_id, command)
    return RedirectResponse(f"../{quote(run_id)}", status_code=303)
