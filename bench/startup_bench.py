"""Start-up: ``impact --help`` against ``python -c pass`` and a bare typer app, and each
service's time from process start to ``/readyz`` 200.

Run: ``uv run python -m bench.startup_bench [--repeats 5]`` (starts its own broker and
registry). Each command runs with the bytecode cache in a fresh ``PYTHONPYCACHEPREFIX``
(one warm-up run writes it, as an installed package or the Docker image has it) and once
more without any bytecode (``PYTHONDONTWRITEBYTECODE=1`` and an empty cache, every module
compiled from source). Writes ``bench/results/startup.json``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from impact_cli.processes import SERVICES, ServiceProcesses

from bench.broker import Platform, platform_main
from bench.machine import ROOT, machine
from bench.results import markdown_table, write_result

READY_TIMEOUT_S = 120.0
READY_POLL_S = 0.02
BARE_TYPER = """
import typer
app = typer.Typer(no_args_is_help=True)
@app.command()
def hello(name: str) -> None:
    print(name)
@app.command()
def bye(name: str) -> None:
    print(name)
app()
"""
IMPACT = str(Path(sys.executable).with_name("impact"))
#: The command line: flag -> argparse keywords.
OPTIONS: dict[str, dict[str, Any]] = {
    "--repeats": {"type": int, "default": 5},
    "--name": {"default": "startup", "help": "bench/results/<name>.json"},
}
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "bare typer app --help": [sys.executable, "-c", BARE_TYPER, "--help"],
    "impact --help": [IMPACT, "--help"],
}
METHOD = (
    "Wall clock of a child process, median and min of --repeats runs. 'bytecode' = a fresh "
    "PYTHONPYCACHEPREFIX written by one warm-up run (as after uv sync --compile-bytecode or "
    "in the Docker image); 'no bytecode' = PYTHONDONTWRITEBYTECODE=1 with an empty cache "
    "(this machine's default environment sets PYTHONDONTWRITEBYTECODE=1, so every module "
    "is compiled from source). Services: python -m impact_<name>.service on a fresh topic "
    "prefix against one KRaft broker and our registry; time from Popen to the first 200 "
    "from GET /readyz (polled every 20 ms); the first start creates the topics, the "
    "following --repeats starts find them; import = python -c 'import impact_<name>.service'."
)


def bytecode_env(cache: Path, *, compiled: bool) -> dict[str, str]:
    """The environment of a run with (``compiled``) or without a bytecode cache."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not compiled:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def wall_s(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def summary(samples: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(samples), 3), "min_s": round(min(samples), 3)}


def command_times(repeats: int, cache: Path) -> list[dict[str, Any]]:
    """Each command with and without bytecode, runs interleaved across commands."""
    compiled = bytecode_env(cache / "compiled", compiled=True)
    source = bytecode_env(cache / "empty", compiled=False)
    for command in COMMANDS.values():
        wall_s(command, compiled)  # warm-up: writes the bytecode cache
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for name, command in COMMANDS.items():
            for mode, env in (("bytecode", compiled), ("no bytecode", source)):
                samples.setdefault((name, mode), []).append(wall_s(command, env))
    return [{"command": n, "mode": m, **summary(s)} for (n, m), s in samples.items()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def time_to_ready(processes: ServiceProcesses, service: str) -> float:
    """Start one replica of ``service`` and return seconds until ``/readyz`` answers 200."""
    port = free_port()
    processes.env["IMPACT_HTTP_PORT"] = str(port)
    started = time.perf_counter()
    processes.start_replica(service, 0)
    url = f"http://127.0.0.1:{port}/readyz"
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() - started < READY_TIMEOUT_S:
            if processes.dead():
                raise RuntimeError(f"{service} died; logs in {processes.log_dir}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(READY_POLL_S)
    raise TimeoutError(f"{service} not ready within {READY_TIMEOUT_S:.0f} s")


def service_times(platform: Platform, repeats: int, cache: Path) -> list[dict[str, Any]]:
    """Per service: import time, the first start (creates topics), then ``repeats`` starts."""
    env = bytecode_env(cache / "compiled", compiled=True)
    rows = []
    for service in SERVICES:
        module = f"impact_{service}.service"
        wall_s([sys.executable, "-c", f"import {module}"], env)  # writes the bytecode cache
        imports = [wall_s([sys.executable, "-c", f"import {module}"], env) for _ in range(repeats)]
        processes = ServiceProcesses(
            platform.bootstrap,
            platform.registry_url,
            platform.work_dir / f"startup-{service}",
            {service: 1},
            prefix_stem="startup",
            data_root=ROOT,
            env={k: env[k] for k in ("PYTHONPYCACHEPREFIX",)},
        )
        processes.env.pop("PYTHONDONTWRITEBYTECODE", None)
        starts = []
        for _ in range(repeats + 1):
            try:
                starts.append(time_to_ready(processes, service))
            finally:
                processes.stop()
        rows.append(
            {
                "service": service,
                "import_median_s": summary(imports)["median_s"],
                "first_start_ready_s": round(starts[0], 3),
                "ready_median_s": summary(starts[1:])["median_s"],
                "ready_min_s": summary(starts[1:])["min_s"],
            }
        )
        print(rows[-1])
    return rows


def benchmark(platform: Platform, repeats: int, name: str = "startup") -> dict[str, Any]:
    started = machine()
    cache = Path(tempfile.mkdtemp(prefix="impact-pycache-"))
    results = {
        "commands": command_times(repeats, cache),
        "services": service_times(platform, repeats, cache),
        "repeats": repeats,
        "python": sys.executable,
    }
    print_tables(results)
    print(f"wrote {write_result(name, METHOD, results, started)}")
    return results


def print_tables(results: dict[str, Any]) -> None:
    rows = [[r["command"], r["mode"], r["median_s"], r["min_s"]] for r in results["commands"]]
    print(markdown_table(["command", "mode", "median s", "min s"], rows))
    headers = ["service", "import s", "first start → ready s", "ready s (median)", "min"]
    cells = [
        [
            r["service"],
            r["import_median_s"],
            r["first_start_ready_s"],
            r["ready_median_s"],
            r["ready_min_s"],
        ]
        for r in results["services"]
    ]
    print(markdown_table(headers, cells))


def main() -> None:
    platform_main(__doc__.splitlines()[0], benchmark, OPTIONS)


if __name__ == "__main__":
    main()
