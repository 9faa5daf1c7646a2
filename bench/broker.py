"""Broker + schema registry for a benchmark: started as local processes, always stopped."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact_cli import supervisor

from bench.machine import ROOT

LOCAL_KAFKA = ROOT / "scripts" / "local_kafka.py"
REGISTRY_TIMEOUT_S = 60.0
URL_LINE = re.compile(r"^(http://\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Platform:
    """Where the broker and the registry answer, and where logs go."""

    bootstrap: str
    registry_url: str
    work_dir: Path


@contextmanager
def running_platform(work_dir: Path | None = None, nodes: int = 1) -> Iterator[Platform]:
    """Start a KRaft broker, or a cluster of ``nodes`` (``scripts/local_kafka.py``), and our
    registry; stop both after."""
    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="impact-bench-"))
    state_file = work_dir / "kafka.json"
    kafka = [sys.executable, str(LOCAL_KAFKA), "--state-file", str(state_file)]
    cluster = ["--nodes", str(nodes)] if nodes > 1 else []
    started = subprocess.run(
        [*kafka, "start", *cluster, "--data-dir", str(work_dir / "kafka"), "--wait"],
        check=True,
        capture_output=True,
        text=True,
    )
    bootstrap = started.stdout.strip().splitlines()[-1]
    registry: subprocess.Popen[bytes] | None = None
    try:
        registry, url = _start_registry(bootstrap, work_dir)
        yield Platform(bootstrap, url, work_dir)
    finally:
        if registry is not None:
            stop_process(registry)
        subprocess.run([*kafka, "stop"], check=False, capture_output=True)


def _start_registry(bootstrap: str, work_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    command = [sys.executable, "-m", "impact_registry"]
    command += ["--bootstrap", bootstrap, "--port", "0", "--topic", "_schemas-bench"]
    log = work_dir / "registry.log"
    process, url = supervisor.start(command, log, URL_LINE, REGISTRY_TIMEOUT_S)
    try:
        supervisor.wait_ready(process, supervisor.http_ok(f"{url}/subjects"), 30.0, log)
    except BaseException:
        stop_process(process)
        raise
    return process, url


def stop_process(process: supervisor.Child, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    supervisor.stop([process], timeout)


def platform_main(
    description: str,
    benchmark: Callable[..., Any],
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """The CLI of a benchmark on a running platform: parse ``options`` (flag: argparse
    keywords), then call ``benchmark(platform, *values)`` with their values in that order."""
    parser = argparse.ArgumentParser(description=description)
    for flag, keywords in (options or {}).items():
        parser.add_argument(flag, **keywords)
    values = vars(parser.parse_args()).values()
    with running_platform() as platform:
        benchmark(platform, *values)
