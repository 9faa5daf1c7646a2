#!/usr/bin/env python3
"""Local stand-ins for the public base images, for machines that reach no image registry.

Standard library only. Needs root, ``debootstrap`` and a running engine (docker_engine.py).

    python3 scripts/docker_images.py build    # once per machine; later runs take a second

Builds, then tags under the public names the Dockerfiles and docker-compose.yml default
to, so the very same files resolve locally without a pull:

* ``local/debian:bookworm``: ``debootstrap --variant=minbase`` from the Debian mirror apt
  already uses, imported with ``docker import`` (no registry involved);
* ``python:3.11-slim``: that plus Debian's python3 (``docker/offline/python.Dockerfile``);
* ``apache/kafka:4.1.1``: Java 17 plus the jars of ``scripts/local_kafka.py fetch``, with an
  entry point honouring the official image's ``KAFKA_*``/``CLUSTER_ID`` contract
  (``docker/offline/kafka.Dockerfile``).

Every stand-in carries the label ``org.impact-engine.stand-in=true``; a tag that already
names an image without it (a real pull) is left alone.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docker_paths import cache_dir, log

REPO_ROOT = Path(__file__).resolve().parent.parent
OFFLINE = REPO_ROOT / "docker" / "offline"
KAFKA_LIBS = REPO_ROOT / ".cache" / "kafka" / "libs"
SUITE = "bookworm"
DEBIAN_IMAGE = "local/debian:bookworm"
PYTHON_IMAGE = os.environ.get("IMPACT_PYTHON_IMAGE", "python:3.11-slim")
KAFKA_IMAGE = os.environ.get("IMPACT_KAFKA_IMAGE", "apache/kafka:4.1.1")
STAND_IN_LABEL = "org.impact-engine.stand-in"
#: The host's extra CAs (a TLS-inspecting egress proxy): builds inside need them for PyPI.
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")


def say(message: str) -> None:
    log("images", message)


def docker(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=True, text=True, **kwargs)  # type: ignore[call-overload]


def image_labels(image: str) -> dict[str, str] | None:
    """The image's labels, or None when no such image is present."""
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return dict(json.loads(result.stdout) or {})


def debian_mirror() -> str:
    """The first Debian archive URI of apt's sources (deb.debian.org by default)."""
    for source in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for match in re.finditer(r"^URIs:\s*(\S+)", source.read_text(), re.MULTILINE):
            if match.group(1).rstrip("/").endswith("/debian"):
                return match.group(1)
    return "http://deb.debian.org/debian"


@contextlib.contextmanager
def mounted(rootfs: Path) -> Iterator[None]:
    """/proc, /sys and /dev/pts inside the rootfs for the duration of a chroot."""
    points = [("proc", rootfs / "proc"), ("sysfs", rootfs / "sys"), ("devpts", rootfs / "dev/pts")]
    done: list[Path] = []
    try:
        for kind, point in points:
            point.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "-t", kind, kind, str(point)], check=True)
            done.append(point)
        yield
    finally:
        for point in reversed(done):
            subprocess.run(["umount", "-l", str(point)], check=False)


def build_debian() -> None:
    """debootstrap a minimal bookworm and ``docker import`` it as DEBIAN_IMAGE."""
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap not found: apt-get install debootstrap")
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    rootfs = work / "rootfs"
    try:
        started = time.monotonic()
        say(f"debootstrap {SUITE} from {debian_mirror()} (about a minute) ...")
        subprocess.run(
            ["nice", "-n", "19", "debootstrap", "--variant=minbase", SUITE, str(rootfs),
             debian_mirror()],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        trust_host_cas(rootfs)
        shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
        (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        changes = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        changes += ["ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]', f"LABEL {STAND_IN_LABEL}=true"]
        args = [arg for change in changes for arg in ("-c", change)]
        subprocess.run(["docker", "import", *args, "-", DEBIAN_IMAGE], stdin=tar.stdout, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        tar.wait()
        say(f"{DEBIAN_IMAGE} imported in {time.monotonic() - started:.0f} s")
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)


def trust_host_cas(rootfs: Path) -> None:
    """Copy the host's extra CA certificates in and rebuild the rootfs's bundle."""
    extra = sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []
    if not extra:
        return
    target = rootfs / HOST_CA_DIR.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    for cert in extra:
        shutil.copy2(cert, target / cert.name)
    with mounted(rootfs):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"}
        install = "apt-get install -y -qq --no-install-recommends ca-certificates"
        subprocess.run(["chroot", str(rootfs), "sh", "-c", f"{install} && update-ca-certificates"],
                       check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    say(f"trusts the host's {len(extra)} extra CA certificate(s)")


def build_from(dockerfile: Path, tag: str, context: Path, *build_args: str) -> None:
    started = time.monotonic()
    say(f"building {tag} from {dockerfile.relative_to(REPO_ROOT)} ...")
    args = [f"--build-arg={arg}" for arg in build_args]
    docker("build", "--network=host", "-q", "-f", str(dockerfile), "-t", tag, *args, str(context),
           stdout=subprocess.DEVNULL)  # fmt: skip
    say(f"{tag} built in {time.monotonic() - started:.0f} s")


def build_kafka() -> None:
    """Java 17 + the cached jars + the stand-in entry point, in a throw-away build context."""
    if not KAFKA_LIBS.is_dir():
        subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "local_kafka.py"), "fetch"],
                       check=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kafka-context-") as context:
        shutil.copytree(KAFKA_LIBS, Path(context) / "libs")
        shutil.copytree(OFFLINE / "kafka", Path(context) / "kafka")
        build_from(OFFLINE / "kafka.Dockerfile", KAFKA_IMAGE, Path(context),
                   f"DEBIAN_IMAGE={DEBIAN_IMAGE}")  # fmt: skip


def needs_build(image: str) -> bool:
    labels = image_labels(image)
    if labels is None:
        return True
    if labels.get(STAND_IN_LABEL) != "true":
        say(f"{image} is a real image (no stand-in label): kept")
    return False


def build(force: bool) -> None:
    """Build every missing stand-in, once per machine (serialised by a lock)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / "images.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or needs_build(DEBIAN_IMAGE):
            build_debian()
        if force or needs_build(PYTHON_IMAGE):
            build_from(OFFLINE / "python.Dockerfile", PYTHON_IMAGE, OFFLINE,
                       f"DEBIAN_IMAGE={DEBIAN_IMAGE}")  # fmt: skip
        if force or needs_build(KAFKA_IMAGE):
            build_kafka()
    say(f"ready: {PYTHON_IMAGE}, {KAFKA_IMAGE}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build the missing stand-in images")
    build_parser.add_argument("--force", action="store_true", help="rebuild every stand-in")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
