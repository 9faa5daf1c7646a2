"""The local run history: the events of every embedded run, one JSON Lines file per run.

``impact run`` and ``api.run`` give each embedded run a run id and record its events here
as the Kafka topics would hold them (the envelope's ``run_id``, ``event_id`` and
``produced_at``), less what repeats other events: the measure and evaluate requests (they
repeat the manifest and the pilots) and every ``run_status`` but the last of each stage.
``allocate_requested`` is kept: it holds the evaluations after the cohort step (the
posterior, in the manifest's unit), which the report's portfolio shows.
``impact report``, ``impact compare``, ``impact runs`` and the dashboard read them with the
same code as a Kafka run's events.

Where: ``IMPACT_HISTORY_DIR``; else ``runs/`` in the CLI's home (``impact --home DIR``,
``IMPACT_STACK_DIR``); else ``var/stack/runs`` in the checkout; else ``~/.impact/runs``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HISTORY_ENV = "IMPACT_HISTORY_DIR"
#: The events a history file leaves out (each repeats the manifest or other events).
NOT_RECORDED = frozenset({"measure_requested", "evaluate_requested"})
#: Run ids a history file may be named after (uuids, and ids a user gave with --run-id).
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")

Event = tuple[str, dict[str, Any]]


def default_history_dir() -> Path:
    """Where embedded runs are recorded (see the module docstring)."""
    if explicit := os.environ.get(HISTORY_ENV):
        return Path(explicit).expanduser()
    if home := os.environ.get("IMPACT_STACK_DIR"):
        return Path(home).expanduser() / "runs"
    try:
        from impact_cli.stack import project_root, stack_dir

        return stack_dir(project_root()) / "runs"
    except (ImportError, FileNotFoundError):
        return Path.home() / ".impact" / "runs"


class Recorder:
    """Collects one run's events with an envelope, in the order they happen; of the
    ``run_status`` events only the latest per stage, after the others."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._events: list[Event] = []
        self._statuses: dict[str, Event] = {}

    @property
    def events(self) -> list[Event]:
        return [*self._events, *self._statuses.values()]

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        if name in NOT_RECORDED:
            return
        now = datetime.now(UTC)
        envelope = {
            "run_id": self.run_id,
            "event_id": str(uuid.uuid4()),
            "causation_id": None,
            "produced_at": now.replace(microsecond=now.microsecond // 1000 * 1000),
        }
        if name == "run_status":
            self._statuses.pop(payload["stage"], None)  # keeps the stages in reported order
            self._statuses[payload["stage"]] = (name, {**envelope, **payload})
        else:
            self._events.append((name, {**envelope, **payload}))


class RunHistory:
    """The history folder: ``<run_id>.jsonl``, one ``{"event": name, "value": ...}`` a line."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_history_dir()

    def path(self, run_id: str) -> Path:
        if not RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r}: not a run id (letters, digits, . _ : -)")
        return self.folder / f"{run_id}.jsonl"

    def has(self, run_id: str) -> bool:
        return RUN_ID.match(run_id) is not None and self.path(run_id).is_file()

    def write(self, run_id: str, events: Iterable[Event]) -> Path:
        """Write the run's file whole and atomically (a re-run with the same id replaces it)."""
        path = self.path(run_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with partial.open("w", encoding="utf-8") as out:
            for name, value in events:
                out.write(json.dumps({"event": name, "value": value}, default=_plain) + "\n")
        partial.replace(path)
        return path

    def read(self, run_id: str) -> list[Event]:
        """The run's events (``produced_at`` as datetimes); [] for a run not recorded."""
        if not self.has(run_id):
            return []
        events = []
        with self.path(run_id).open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    value = record["value"]
                    value["produced_at"] = datetime.fromisoformat(value["produced_at"])
                    events.append((record["event"], value))
        return events

    def run_ids(self) -> list[str]:
        """Every recorded run, oldest file first."""
        if not self.folder.is_dir():
            return []
        files = sorted(self.folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name))
        return [p.stem for p in files if RUN_ID.match(p.stem)]

    def all_events(self, names: Iterable[str] | None = None) -> list[Event]:
        """The events of every recorded run (only ``names`` when given)."""
        wanted = None if names is None else set(names)
        return [
            (name, value)
            for run_id in self.run_ids()
            for name, value in self.read(run_id)
            if wanted is None or name in wanted
        ]


def _plain(value: Any) -> Any:
    """JSON for what components may return besides JSON types (datetimes, numpy)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
