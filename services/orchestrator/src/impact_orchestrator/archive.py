"""The run's results archive, written when a run completes if its manifest has a
``storage_url``: ``<storage root>/<storage_url>/<run_id>/`` holds

- ``pilot.jsonl`` and ``scale.jsonl``: one ``MeasureResult`` per line,
- ``report.jsonl``: one ``OutcomeReport`` per line,
- ``run.json``: run id, status, summary and failures,

sorted by ``initiative_id``. The storage root is the operator's (``IMPACT_STORAGE_ROOT``),
never the manifest's. Each file is replaced whole and atomically, so a replayed
completion rewrites the same bytes instead of adding lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from impact_contracts import ConfigError
from impact_measure.storage import confine, storage_root, write_atomically

from impact_orchestrator.run_state import RunState

log = structlog.get_logger("impact_orchestrator")


def archive_files(state: RunState) -> dict[str, str]:
    """File name → content of a completed run's archive (pure)."""
    result = state.result or {}
    run = {
        "run_id": state.run_id,
        "status": result.get("status", state.status),
        "summary": result.get("summary"),
        "failures": result.get("failures", []),
    }
    return {
        "pilot.jsonl": _lines(state.pilots[k] for k in sorted(state.pilots)),
        "scale.jsonl": _lines(state.scales[k] for k in sorted(state.scales)),
        "report.jsonl": _lines(result.get("reports", [])),
        "run.json": json.dumps(run, sort_keys=True, indent=2) + "\n",
    }


def write_archive(state: RunState, root: Path | None = None) -> Path | None:
    """Write the archive of a completed ``state``; its directory, or ``None`` when the
    manifest has no ``storage_url``.

    Raises:
        ConfigError: the ``storage_url`` or ``run_id`` would lead out of the storage root.
        OSError: the files cannot be written.
    """
    storage_url = state.manifest.get("storage_url")
    if storage_url is None or not state.done:
        return None
    root = (root or storage_root()).resolve()
    base = confine(storage_url, root)
    if not state.run_id or any(c in state.run_id for c in "/\\") or state.run_id in (".", ".."):
        raise ConfigError(f"run_id: {state.run_id!r} cannot name a directory")
    directory = confine(state.run_id, base, key="run_id")
    for name, text in archive_files(state).items():
        write_atomically(directory / name, text, root)
    return directory


def archive_completed(state: RunState) -> Path | None:
    """The hook called where a run completes (embedded mode, and the orchestrator service
    when a change publishes ``run_completed``). A failed write is logged, not raised: the
    run's result is decided and published in ``run_completed`` either way."""
    try:
        return write_archive(state)
    except (ConfigError, OSError) as exc:
        log.error("run_archive_not_written", run_id=state.run_id, reason=str(exc))
        return None


def _lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
