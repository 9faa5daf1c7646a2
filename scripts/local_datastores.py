#!/usr/bin/env python3
"""Real data stores for tests and local runs, without Docker: S3Proxy from Maven jars and a
private PostgreSQL cluster from the Debian package (``initdb``/``pg_ctl``).

Standard library only (S3Proxy runs under ``impact_cli.supervisor``; PostgreSQL under its
own ``pg_ctl``). Both bind 127.0.0.1 on the port they are given; each ``stop`` keeps
the data directory, so ``start`` on the same directory and port brings back the data.

    python3 scripts/local_datastores.py fetch-s3proxy   # jars into .cache/s3proxy/libs
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script: make the ``scripts`` package and the process supervisor importable.
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "cli" / "src")]

from impact_cli import supervisor  # noqa: E402

from scripts.maven_jars import fetch_jars  # noqa: E402

S3PROXY_POM = REPO_ROOT / "scripts" / "s3proxy" / "pom.xml"
S3PROXY_LIBS = REPO_ROOT / ".cache" / "s3proxy" / "libs"
S3PROXY_MIN_JARS = 50
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def log(message: str) -> None:
    print(f"[local-datastores] {message}", file=sys.stderr, flush=True)


def fetch_s3proxy() -> Path:
    """Copy S3Proxy's jars from Maven Central into .cache/s3proxy/libs (once, under a lock).

    Raises:
        RuntimeError: Maven is missing or failed (``MavenError``, its output in the message).
    """
    fetch_jars(S3PROXY_POM, S3PROXY_LIBS, min_jars=S3PROXY_MIN_JARS, what="S3Proxy's jars")
    return S3PROXY_LIBS


@dataclass
class S3Proxy:
    """S3Proxy with the filesystem blobstore under ``directory``, AWS v2/v4 signatures."""

    directory: Path
    port: int
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        libs = fetch_s3proxy()
        (self.directory / "blobs").mkdir(parents=True, exist_ok=True)
        properties = self.directory / "s3proxy.properties"
        properties.write_text(
            f"s3proxy.endpoint={self.endpoint}\n"
            "s3proxy.authorization=aws-v2-or-v4\n"
            f"s3proxy.identity={self.access_key}\n"
            f"s3proxy.credential={self.secret_key}\n"
            "jclouds.provider=filesystem\n"
            f"jclouds.filesystem.basedir={self.directory / 'blobs'}\n"
        )
        command = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
        command += ["-cp", f"{libs}/*", "org.gaul.s3proxy.Main", "--properties", str(properties)]
        log_file = self.directory / "s3proxy.log"
        self.process = supervisor.spawn(command, log_file)
        supervisor.wait_ready(self.process, supervisor.tcp_open(self.port), timeout, log_file)

    def stop(self) -> None:
        if self.process is not None:
            supervisor.stop([self.process], 20.0)
        self.process = None


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = sorted(glob.glob(POSTGRES_BIN_GLOB), key=lambda p: int(Path(p).parent.name))
    return Path(found[-1]) if found else None


@dataclass
class Postgres:
    """A private PostgreSQL cluster in ``directory`` on 127.0.0.1:``port``, password auth.

    As root the server runs as the ``postgres`` user (``runuser``); it owns ``directory``.
    """

    directory: Path
    port: int
    user: str
    password: str
    database: str = "postgres"

    @property
    def url(self) -> str:
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    def _run(self, *command: str) -> None:
        binary = postgres_bin()
        if binary is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        argv = [str(binary / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def start(self) -> None:
        if not self.data_dir.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            password_file = self.directory / "password"
            password_file.write_text(self.password)
            if os.geteuid() == 0:
                shutil.chown(self.directory, "postgres")
                shutil.chown(password_file, "postgres")
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", self.user, "-A", "scram-sha-256",
                f"--pwfile={password_file}", "--no-sync",
            )  # fmt: skip
            password_file.unlink()
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log_file = str(self.directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", log_file, "-w", "start")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch-s3proxy"]:
        log(f"S3Proxy jars in {fetch_s3proxy()}")
    else:
        raise SystemExit(__doc__)
