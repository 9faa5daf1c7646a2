"""One process supervisor for the local stack and the test harness.

Starts a child with its output appended to a log file, waits until it reports ready (a
log line, an HTTP answer, any probe), and stops children: SIGTERM, then SIGKILL after a
deadline, whether they are this process's children (``Popen``) or pids recorded by an
earlier command (``impact down`` after ``impact up``). Standard library only: the
scripts under ``scripts/`` import it from the checkout before the virtualenv exists.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")
POLL_S = 0.05


def spawn(
    args: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    banner: str | None = None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr appended to ``log`` (after a ``--- banner``
    line, when given). ``new_session`` detaches it from the terminal's
    signals (a stack that outlives the command)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        if banner is not None:
            out.write(f"--- {banner}\n".encode())
            out.flush()
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            start_new_session=new_session,
        )


def log_size(log: Path) -> int:
    """Bytes in ``log`` now: what a start appends comes after (``log_line``'s ``after``)."""
    return log.stat().st_size if log.is_file() else 0


def log_tail(log: Path, chars: int = 3000) -> str:
    """The end of ``log`` (for an error message)."""
    return log.read_text(errors="replace")[-chars:] if log.is_file() else "(no log)"


def log_line(log: Path, pattern: re.Pattern[str], after: int = 0) -> Callable[[], str | None]:
    """A probe: the first group of ``pattern``'s first match in ``log`` past byte ``after``."""

    def probe() -> str | None:
        if not log.is_file():
            return None
        with log.open("rb") as text:
            text.seek(after)
            match = pattern.search(text.read().decode(errors="replace"))
        return match.group(1) if match else None

    return probe


def http_ok(url: str, timeout: float = 2.0) -> Callable[[], bool]:
    """A probe: ``GET url`` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return int(answer.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    return probe


def tcp_open(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """A probe: ``host:port`` accepts a TCP connection."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def wait_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], T | None],
    timeout: float,
    log: Path,
    interval: float = 0.1,
) -> T:
    """Poll ``ready`` until it returns something truthy (returned).

    Raises:
        RuntimeError: the process exited first (the end of its log in the message).
        TimeoutError: not ready within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if found := ready():
            return found
        if process.poll() is not None:
            raise RuntimeError(
                f"{log.stem} exited with {process.returncode}; see {log}:\n{log_tail(log)}"
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{log.stem} did not report ready within {timeout:.0f} s; see {log}")
        time.sleep(interval)


def start(
    args: Sequence[str],
    log: Path,
    ready: re.Pattern[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``spawn`` ``args`` and wait until its log gains a line matching ``ready``: the
    process and the pattern's first group. A child that does not get ready is stopped."""
    probe = log_line(log, ready, after=log_size(log))
    process = spawn(args, log, env)
    try:
        return process, wait_ready(process, probe, timeout, log)
    except BaseException:
        stop([process], timeout=5.0)
        raise


class Child(Protocol):
    """What ``stop`` needs of a process: ``Popen`` or a recorded ``Pid``."""

    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...


class Pid:
    """A process known by its pid only (recorded by an earlier command)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        """None while it runs; reaps it when it is this process's child."""
        with contextlib.suppress(ChildProcessError):
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        return None if alive(self.pid) else 0

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)


def alive(pid: int) -> bool:
    """A process ``pid`` exists (it may be a zombie not yet reaped, or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(children: Iterable[Child], timeout: float = 15.0) -> None:
    """SIGTERM every running child at once (SIGCONT first: a paused one cannot act on it),
    wait until ``timeout`` for all, then SIGKILL and reap what is still running."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.send_signal(signal.SIGCONT)
        child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
    for child in running:
        if child.poll() is None:
            kill(child)


def kill(child: Child, timeout: float = 20.0) -> None:
    """SIGKILL ``child`` and wait until it is gone (reaped, if it is a ``Popen``)."""
    child.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while child.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
