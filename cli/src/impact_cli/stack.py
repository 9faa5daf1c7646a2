"""``impact up`` / ``impact down``: the local stack as plain processes.

Starts the KRaft broker from the project's jars (``scripts/local_kafka.py``), the schema
registry and each service with its replica count, and remembers them in
``var/stack/state.json`` so later commands find the broker and registry.

The broker's data (topics, offsets, the registry's schemas, the orchestrator's changelog)
survives ``down``; the next ``up`` restarts on it, so runs in flight resume. ``down
--purge`` deletes it. Logs are appended to, one ``--- impact up`` line per start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from impact_cli import supervisor

SERVICES = ("orchestrator", "measure", "evaluate", "allocate")
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+)")


def project_root(start: Path | None = None) -> Path:
    """The checkout holding ``scripts/local_kafka.py``: ``IMPACT_HOME``, else the working
    directory or a parent, else the checkout this CLI is installed from (so ``impact``
    works from any folder)."""
    if home := os.environ.get("IMPACT_HOME"):
        return Path(home).resolve()
    here = (start or Path.cwd()).resolve()
    installed = Path(__file__).resolve().parent
    for candidate in (here, *here.parents, *installed.parents):
        if (candidate / "scripts" / "local_kafka.py").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find the project checkout (scripts/local_kafka.py); run from it or set IMPACT_HOME"
    )


def stack_dir(root: Path) -> Path:
    """Where ``up`` keeps logs, broker data and state: ``IMPACT_STACK_DIR`` (``--home``),
    else ``var/stack`` in the checkout."""
    return Path(os.environ.get("IMPACT_STACK_DIR") or root / "var" / "stack")


@dataclass
class Proc:
    name: str
    pid: int
    log: str


@dataclass
class StackState:
    bootstrap: str
    registry_url: str
    kafka_data_dir: str
    processes: list[Proc] = field(default_factory=list)
    #: The services' ``IMPACT_DATA_ROOT``: file sources must lie inside it.
    data_root: str | None = None

    @classmethod
    def path(cls, root: Path) -> Path:
        return stack_dir(root) / "state.json"

    @classmethod
    def load(cls, root: Path) -> StackState | None:
        path = cls.path(root)
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        raw["processes"] = [Proc(**p) for p in raw["processes"]]
        return cls(**raw)

    def save(self, root: Path) -> None:
        path = self.path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))


def _local_kafka(root: Path, var: Path) -> list[str]:
    script = root / "scripts" / "local_kafka.py"
    return [sys.executable, str(script), "--state-file", str(var / "kafka-state.json")]


def up(
    root: Path,
    replicas: dict[str, int],
    say: Callable[[str], None] = print,
    data_root: Path | None = None,
) -> StackState:
    """Start broker, registry and services; return the recorded state. File sources must
    lie inside ``data_root`` (default: ``IMPACT_DATA_ROOT``, else the checkout)."""
    existing = StackState.load(root)
    if existing and all(supervisor.alive(p.pid) for p in existing.processes):
        say(f"stack already up (broker {existing.bootstrap}, registry {existing.registry_url})")
        return existing
    down(root, say=lambda _msg: None)
    var = stack_dir(root)
    logs = var / "logs"
    kafka_dir = var / "kafka"
    started = time.monotonic()
    reused = (kafka_dir / "logs" / "meta.properties").is_file()
    say(f"starting Kafka (KRaft, from the project's jars{', on its data' if reused else ''})…")
    out = subprocess.run(
        [*_local_kafka(root, var), "start", "--data-dir", str(kafka_dir), "--wait"],
        check=True,
        capture_output=True,
        text=True,
    )
    bootstrap = out.stdout.strip().splitlines()[-1].strip()
    say(f"  broker {bootstrap} ({time.monotonic() - started:.1f} s)")

    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PYTHONUNBUFFERED": "1"}
    if data_root is not None:
        env["IMPACT_DATA_ROOT"] = str(data_root.resolve())
    env.setdefault("IMPACT_DATA_ROOT", str(root))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # replicas share the cores: one BLAS thread each
    registry_log = logs / "registry.log"
    registry_command = ["impact_registry", "--bootstrap", bootstrap, "--port", "0"]
    url_line = supervisor.log_line(registry_log, URL_LINE, after=supervisor.log_size(registry_log))
    registry = _spawn("registry", registry_command, registry_log, env)
    registry_url = supervisor.wait_ready(registry, url_line, timeout=60, log=registry_log)
    say(f"  schema registry {registry_url}")
    state = StackState(
        bootstrap,
        registry_url,
        str(kafka_dir),
        [Proc("registry", registry.pid, str(registry_log))],
        data_root=env["IMPACT_DATA_ROOT"],
    )
    env["SCHEMA_REGISTRY_URL"] = registry_url
    for service in SERVICES:
        for index in range(replicas.get(service, 1)):
            log = logs / f"{service}-{index}.log"
            replica_env = {**env, "IMPACT_TRANSACTIONAL_ID": f"impact-{service}-{index}"}
            proc = _spawn(service, [f"impact_{service}.service"], log, replica_env)
            state.processes.append(Proc(f"{service}-{index}", proc.pid, str(log)))
        say(f"  {service} x {replicas.get(service, 1)}")
    state.save(root)
    say(f"stack up in {time.monotonic() - started:.1f} s; logs in {logs}")
    say(f"  file sources must lie under {state.data_root} (impact up --data-root DIR)")
    return state


def down(
    root: Path, say: Callable[[str], None] = print, timeout: float = 15.0, purge: bool = False
) -> None:
    """Stop every recorded process (SIGTERM, then SIGKILL) and the broker; keep the
    broker's data unless ``purge``."""
    state = StackState.load(root)
    if state is None:
        if purge:
            _purge(root, say)
        else:
            say("stack is not up")
        return
    supervisor.stop([supervisor.Pid(p.pid) for p in reversed(state.processes)], timeout)
    subprocess.run(
        [*_local_kafka(root, stack_dir(root)), "stop", "--keep"],
        check=False,
        capture_output=True,
    )
    StackState.path(root).unlink(missing_ok=True)
    say("stack down")
    if purge:
        _purge(root, say)
    else:
        say(f"  broker data kept in {stack_dir(root) / 'kafka'} (`impact down --purge` deletes it)")


def _spawn(name: str, module: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m module...`` in its own session, its output appended to ``log`` after a
    ``--- impact up <time> (name)`` line."""
    args = [sys.executable, "-m", *module]
    banner = f"impact up {datetime.now(UTC).isoformat()} ({name})"
    return supervisor.spawn(args, log, env, banner=banner, new_session=True)


def _purge(root: Path, say: Callable[[str], None]) -> None:
    """Delete the broker's data: every topic, offset, schema and run state."""
    data = stack_dir(root) / "kafka"
    shutil.rmtree(data, ignore_errors=True)
    say(f"  deleted broker data {data}")
