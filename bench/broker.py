"""Broker + schema registry for a benchmark: started as local processes, always stopped."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.machine import ROOT
from bench.waiting import wait_until

LOCAL_KAFKA = ROOT / "scripts" / "local_kafka.py"
REGISTRY_TIMEOUT_S = 60.0


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
    registry: subprocess.Popen[str] | None = None
    try:
        registry, url = _start_registry(bootstrap, work_dir)
        yield Platform(bootstrap, url, work_dir)
    finally:
        if registry is not None:
            stop_process(registry)
        subprocess.run([*kafka, "stop"], check=False, capture_output=True)


def _start_registry(bootstrap: str, work_dir: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "impact_registry"]
    command += ["--bootstrap", bootstrap, "--port", "0", "--topic", "_schemas-bench"]
    with (work_dir / "registry.log").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if line.startswith("http://"):
            url = line.strip()
            break
    if not url:
        stop_process(process)
        raise RuntimeError(f"registry printed no URL; see {work_dir / 'registry.log'}")

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/subjects", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, REGISTRY_TIMEOUT_S, "registry did not answer GET /subjects")
    return process, url


def stop_process(process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """SIGTERM, SIGKILL after ``timeout`` seconds, then close its stdout pipe."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


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
