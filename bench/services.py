"""Service replicas as processes for the benchmarks (see ``impact_cli.processes``)."""

from __future__ import annotations

import urllib.request
import uuid

from impact_cli.processes import ServiceProcesses
from prometheus_client.parser import text_string_to_metric_families

from bench.broker import Platform
from bench.machine import ROOT
from bench.waiting import wait_until

ASSIGN_TIMEOUT_S = 120.0
#: the runtime's counters read from each replica's /metrics (sample name → short name)
COUNTERS = {
    "impact_handler_cpu_seconds_total": "handler_cpu_s",
    "impact_batches_delivered_total": "batches",
}


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

    def counters(self) -> dict[str, dict[str, float]]:
        """Service → the runtime's counters summed over its replicas, from each replica's
        /metrics (its port is in its ``service_started`` log line), and their process
        CPU seconds (``cpu_s``)."""
        totals: dict[str, dict[str, float]] = {}
        cpu = self.cpu_seconds_by_replica()
        for name in self.processes:
            service = name.rsplit("-", 1)[0]
            port = next(
                line["http_port"]
                for line in self.log_lines(name)
                if line.get("event") == "service_started"
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
                text = reply.read().decode()
            found = totals.setdefault(service, dict.fromkeys([*COUNTERS.values(), "cpu_s"], 0.0))
            found["cpu_s"] += cpu[name]
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name in COUNTERS:
                        found[COUNTERS[sample.name]] += sample.value
        return totals
