"""Jars from Maven Central into a cache directory, once, under a lock.

Standard library only: the scripts that use it (``local_kafka.py``, ``local_datastores.py``)
run before the project's virtualenv exists. ``mvn dependency:copy-dependencies`` on the
project's ``pom.xml`` copies every runtime jar into a staging directory, which then
replaces the cache directory whole, so a failed or concurrent fetch never leaves half a
set of jars behind.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


class MavenError(RuntimeError):
    """Maven is missing or failed; the message says which, with Maven's output."""


def jar_count(libs: Path) -> int:
    return len(list(libs.glob("*.jar"))) if libs.is_dir() else 0


def jars_present(libs: Path, min_jars: int) -> bool:
    """At least ``min_jars`` jars in ``libs`` (a complete fetch: a partial one is never
    renamed into place)."""
    return jar_count(libs) >= min_jars


def fetch_jars(
    pom: Path,
    libs: Path,
    *,
    min_jars: int,
    what: str,
    log: Callable[[str], None] | None = None,
) -> int:
    """Copy the runtime jars of ``pom`` into ``libs`` unless at least ``min_jars`` are there.

    ``what`` names the jars in messages ("the Kafka jars"); ``log`` gets progress lines.
    Concurrent callers wait on a lock next to ``libs``. Returns the number of jars fetched,
    0 when they were already there.

    Raises:
        MavenError: ``mvn`` is not installed, or it failed (its output in the message).
    """
    libs.parent.mkdir(parents=True, exist_ok=True)
    with (libs.parent / "fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jars_present(libs, min_jars):
            if log is not None:
                log(f"jars already in {libs} ({jar_count(libs)} jars)")
            return 0
        return _download(pom, libs, what, log)


def _download(pom: Path, libs: Path, what: str, log: Callable[[str], None] | None) -> int:
    if shutil.which("mvn") is None:
        raise MavenError(f"mvn not found: install Maven (3.8+) to fetch {what}")
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    if log is not None:
        log(f"fetching {what} with Maven into {libs} (about 15-40 s the first time) ...")
    started = time.monotonic()
    command = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
    command += [f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
    try:
        # Maven's output is captured: 3.8 prints stray colour codes even in batch mode.
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise MavenError(f"mvn failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(pom.parent / "target", ignore_errors=True)
    count = jar_count(libs)
    if log is not None:
        log(f"fetched {count} jars in {time.monotonic() - started:.1f} s")
    return count
