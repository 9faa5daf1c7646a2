"""The process supervisor on real child processes: log file, readiness, SIGTERM then SIGKILL."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from impact_cli import supervisor

READY = re.compile(r"listening on (\d+)")
ROOT = Path(__file__).resolve().parents[2]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_logs_reports_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "child.log"
    log.parent.mkdir()
    log.write_text("listening on 1 (an earlier start)\n")
    code = "import time; print('listening on 4242', flush=True); time.sleep(60)"
    child = supervisor.spawn(python(code), log, banner="test start")
    try:
        probe = supervisor.log_line(log, READY, after=len("listening on 1 (an earlier start)\n"))
        assert supervisor.wait_ready(child, probe, timeout=30, log=log) == "4242"
    finally:
        started = time.monotonic()
        supervisor.stop([child], timeout=10)
    assert child.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 5
    lines = log.read_text().splitlines()
    assert lines[0] == "listening on 1 (an earlier start)"
    assert lines[1] == "--- test start"
    assert lines[2] == "listening on 4242"


def test_a_child_ignoring_sigterm_is_killed_at_the_deadline(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    log = tmp_path / "stubborn.log"
    child = supervisor.spawn(python(code), log)
    supervisor.wait_ready(child, supervisor.log_line(log, re.compile("(up)")), 30, log)
    started = time.monotonic()
    supervisor.stop([child], timeout=1.0)
    assert child.returncode == -signal.SIGKILL
    assert 1.0 <= time.monotonic() - started < 10


def test_a_recorded_pid_is_stopped_and_reaped(tmp_path: Path) -> None:
    child = supervisor.spawn(python("import time; time.sleep(60)"), tmp_path / "pid.log")
    recorded = supervisor.Pid(child.pid)
    assert supervisor.alive(child.pid) and recorded.poll() is None
    supervisor.stop([recorded], timeout=10)
    assert not supervisor.alive(child.pid)  # reaped: no zombie left behind


def test_a_child_that_exits_before_ready_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "broken.log"
    child = supervisor.spawn(python("import sys; print('bad config'); sys.exit(3)"), log)
    with pytest.raises(RuntimeError, match=r"broken exited with 3; see .*\n.*bad config"):
        supervisor.wait_ready(child, supervisor.log_line(log, READY), timeout=30, log=log)


def test_start_returns_the_ready_line(tmp_path: Path) -> None:
    code = "import time; print('listening on 4243', flush=True); time.sleep(60)"
    child, port = supervisor.start(python(code), tmp_path / "child.log", READY, timeout=30)
    try:
        assert port == "4243" and child.poll() is None
    finally:
        supervisor.stop([child], timeout=10)
    assert child.returncode == -signal.SIGTERM


def test_a_child_that_never_gets_ready_times_out_and_is_stopped(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    code = "import os, time; print('pid', os.getpid(), flush=True); time.sleep(60)"
    with pytest.raises(TimeoutError, match="slow did not report ready within 3 s"):
        supervisor.start(python(code), log, READY, timeout=3.0)
    pid = int(log.read_text().split()[1])
    assert not supervisor.alive(pid)


def test_http_ok_is_false_while_nothing_listens() -> None:
    assert supervisor.http_ok("http://127.0.0.1:9/healthz", timeout=0.5)() is False


@pytest.mark.parametrize("script", ["local_kafka.py", "docker_engine.py"])
def test_the_scripts_import_it_without_the_virtualenv(script: str) -> None:
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        pytest.skip("no system python3")
    command = [system_python, "-I", str(ROOT / "scripts" / script), "--help"]
    done = subprocess.run(command, capture_output=True, text=True, env={}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}")
