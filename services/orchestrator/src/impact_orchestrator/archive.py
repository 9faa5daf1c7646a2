"""The run's results archive, written when a run completes if its manifest has a
``storage_url``: ``<storage root>/<storage_url>/<run_id>/`` holds

- ``pilot.jsonl`` and ``scale.jsonl``: one ``MeasureResult`` per line,
- ``report.jsonl``: one ``OutcomeReport`` per line,
- ``run.json``: run id, status, summary and failures,

sorted by ``initiative_id``. The storage root is the operator's (``IMPACT_STORAGE_ROOT``),
never the manifest's. Each file is replaced whole and atomically, so a replayed
completion rewrites the same bytes instead of adding lines.

With ``IMPACT_ARCHIVE_URL=s3://bucket/prefix`` the same files go to
``s3://bucket/prefix/<storage_url>/<run_id>/`` instead (one object each, written whole;
credentials and endpoint as for the s3 source, docs/data-sources.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from impact_contracts import ConfigError, DependencyUnavailable
from impact_measure.api import (
    confine,
    relative_path_problem,
    storage_root,
    write_atomically,
)

from impact_orchestrator.run_state import RunState

log = structlog.get_logger("impact_orchestrator")
ARCHIVE_URL_ENV = "IMPACT_ARCHIVE_URL"


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
        "pilot.jsonl": _lines(state.pilots[k].model_dump() for k in sorted(state.pilots)),
        "scale.jsonl": _lines(state.scales[k].model_dump() for k in sorted(state.scales)),
        "report.jsonl": _lines(result.get("reports", [])),
        "run.json": json.dumps(run, sort_keys=True, indent=2) + "\n",
    }


def write_archive(state: RunState, root: Path | None = None) -> Path | str | None:
    """Write the archive of a completed ``state``; its directory (an ``s3://`` URL with
    ``IMPACT_ARCHIVE_URL`` and no ``root``), or ``None`` when the manifest has no
    ``storage_url``.

    Raises:
        ConfigError: the ``storage_url`` or ``run_id`` would lead out of the storage root,
            or S3 refused the write.
        OSError: the files cannot be written.
        DependencyUnavailable: S3 stayed unreachable.
    """
    storage_url = state.manifest.storage_url if state.manifest else None
    if storage_url is None or not state.done:
        return None
    if not state.run_id or any(c in state.run_id for c in "/\\") or state.run_id in (".", ".."):
        raise ConfigError(f"run_id: {state.run_id!r} cannot name a directory")
    archive_url = os.environ.get(ARCHIVE_URL_ENV)
    if root is None and archive_url:
        return write_s3_archive(archive_url, storage_url, state)
    root = (root or storage_root()).resolve()
    base = confine(storage_url, root)
    directory = confine(state.run_id, base, key="run_id")
    for name, text in archive_files(state).items():
        write_atomically(directory / name, text, root)
    return directory


def write_s3_archive(archive_url: str, storage_url: str, state: RunState) -> str:
    """Put each archive file under ``<archive_url>/<storage_url>/<run_id>/``; that URL."""
    from botocore.exceptions import BotoCoreError, ClientError
    from impact_measure.api import S3Location, s3_client, s3_outage, s3_reason, waiting_out

    if not archive_url.startswith("s3://"):
        raise ConfigError(f"{ARCHIVE_URL_ENV}: must be an s3://bucket/prefix URL")
    problem = relative_path_problem(storage_url)
    if problem is not None:
        raise ConfigError(f"storage_url: {problem}")
    directory = "/".join(
        part.strip("/") for part in (archive_url, storage_url, state.run_id) if part.strip("/")
    )
    location = S3Location.parse(directory)
    client = s3_client()
    for name, text in archive_files(state).items():
        key = f"{location.key}/{name}"

        def put(key: str = key, text: str = text) -> None:
            client.put_object(Bucket=location.bucket, Key=key, Body=text.encode())

        try:
            waiting_out("s3", f"{directory}/{name}", s3_outage, put)
        except (BotoCoreError, ClientError) as exc:
            reason = s3_reason(exc)
            raise ConfigError(
                f"{ARCHIVE_URL_ENV}: cannot write {directory}/{name}: {reason}"
            ) from None
    return directory


def archive_completed(state: RunState) -> Path | str | None:
    """The hook called where a run completes (embedded mode, and the orchestrator service
    when a change publishes ``run_completed``). A failed write is logged, not raised: the
    run's result is decided and published in ``run_completed`` either way."""
    try:
        return write_archive(state)
    except (ConfigError, OSError, DependencyUnavailable) as exc:
        log.error("run_archive_not_written", run_id=state.run_id, reason=str(exc))
        return None


def _lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
