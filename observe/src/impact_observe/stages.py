"""The pipeline's stage order, once, and stage labels for progress ``[k/N]`` (pure).

The orchestrator reports ``running`` for every stage of a run that has not ended, also for
a stage whose items are all in; :func:`stage_label` tells those apart.
"""

from __future__ import annotations

#: Stages in the order the orchestrator reports them (``run_status.stage``).
STAGES = ("measure", "evaluate", "allocate", "scale", "report")

#: The hop names in pipeline order, as (event name, phase or None).
HOPS: tuple[tuple[str, str | None], ...] = (
    ("manifest_submitted", None),
    ("measure_requested", "pilot"),
    ("measure_completed", "pilot"),
    ("evaluate_requested", None),
    ("evaluate_completed", None),
    ("allocate_requested", None),
    ("allocate_completed", None),
    ("measure_requested", "scale"),
    ("measure_completed", "scale"),
    ("run_completed", None),
)


def stage_label(completed: int, total: int, state: str, run_final: bool = False) -> str:
    """``done`` when every item of the stage is in, ``stopped`` when the run ended first,
    else the reported state (``running``, ``completed``, ``failed``)."""
    if state != "running":
        return state
    if completed >= total:
        return "done"
    return "stopped" if run_final else "running"


def stage_text(completed: int, total: int, state: str, run_final: bool = False) -> str:
    """``10/10 done``."""
    return f"{completed}/{total} {stage_label(completed, total, state, run_final)}"
