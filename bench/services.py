"""Service replicas as processes for the benchmarks (see ``impact_cli.processes``)."""

from __future__ import annotations

import uuid

from impact_cli.processes import ServiceProcesses

from bench.broker import Platform
from bench.machine import ROOT
from bench.waiting import wait_until

ASSIGN_TIMEOUT_S = 120.0


class Services(ServiceProcesses):
    """Replicas on a fresh topic prefix; a context manager that waits for assignments."""

    def __init__(self, platform: Platform, replicas: dict[str, int]) -> None:
        super().__init__(
            platform.bootstrap,
            platform.registry_url,
            platform.work_dir / f"services-{uuid.uuid4().hex[:8]}",
            replicas,
            prefix_stem="bench",
            data_root=ROOT,
            env={"IMPACT_LOG_LEVEL": "INFO"},
        )

    def __enter__(self) -> Services:
        try:
            self.start()
            wait_until(self.all_assigned, ASSIGN_TIMEOUT_S, "replicas did not get partitions")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
