"""Stage labels for progress ``[k/N]`` (pure): the orchestrator reports ``running`` for
every stage of a run that has not ended, also for a stage whose items are all in."""

from __future__ import annotations


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
