#!/usr/bin/env python3
"""Container health check: ``GET /readyz`` (or PATH) on this container's own HTTP port.

    impact-healthcheck [PATH]        exit 0 when it answers 200, else 1

Services bind an ephemeral health port (``IMPACT_HTTP_PORT=0``) so that replicas sharing a
host network never clash; the port is therefore found from the TCP sockets that this
container's processes listen on (``/proc/<pid>/fd`` matched against ``/proc/net/tcp``).
A fixed ``IMPACT_HTTP_PORT`` wins. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

LISTEN = "0A"


def own_socket_inodes() -> set[str]:
    """Socket inodes held open by the processes visible in this PID namespace."""
    inodes: set[str] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            targets = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue
        inodes.update(t[8:-1] for t in targets if t.startswith("socket:["))
    return inodes


def listening_ports() -> list[int]:
    """Ports our processes listen on (IPv4 and IPv6), lowest first."""
    ours = own_socket_inodes()
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in ours:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def healthy(path: str) -> bool:
    fixed = int(os.environ.get("IMPACT_HTTP_PORT", "0") or 0)
    for port in [fixed] if fixed else listening_ports():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            continue
    return False


if __name__ == "__main__":
    sys.exit(0 if healthy(sys.argv[1] if len(sys.argv) > 1 else "/readyz") else 1)
