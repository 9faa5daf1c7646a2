"""Prometheus metrics of one service, kept in the service's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    """Counters by topic, handler latency and CPU, batches, consumer lag and dependency
    outages."""

    def __init__(self, service_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service_name}
        self.processed = Counter(
            "impact_messages_processed",
            "Messages handled successfully.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.failed = Counter(
            "impact_messages_failed",
            "Messages whose handling failed (DLQ or stage_failed).",
            ["topic", "error_type"],
            registry=self.registry,
        ).labels
        self.dead_lettered = Counter(
            "impact_messages_dlq",
            "Messages sent to the dead-letter queue.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.retried = Counter(
            "impact_messages_retried",
            "Retries after a RetryableError.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.handler_seconds = Histogram(
            "impact_handler_seconds",
            "Handler latency per message.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.handler_cpu_seconds = Counter(
            "impact_handler_cpu_seconds",
            "CPU seconds of a synchronous handler, by the CPU clock of the thread it ran on "
            "(the component's own work; not counted for async handlers).",
            ["topic"],
            registry=self.registry,
        ).labels
        self.batches_delivered = Counter(
            "impact_batches_delivered",
            "Batches delivered: produced and their offsets committed (one transaction each "
            "with exactly_once).",
            registry=self.registry,
        )
        self.dependency_waiting = Gauge(
            "impact_dependency_waiting",
            "1 while the service waits for a dependency that is down (readyz is false).",
            ["dependency"],
            registry=self.registry,
        ).labels
        self.dependency_backoff = Counter(
            "impact_dependency_backoff",
            "Backoff steps taken while a dependency was down.",
            ["dependency"],
            registry=self.registry,
        ).labels
        self.consumer_lag = Gauge(
            "impact_consumer_lag",
            "High watermark minus the consumer position.",
            ["topic", "partition"],
            registry=self.registry,
        ).labels
        Gauge(
            "impact_service_info",
            "Constant 1, labelled with the service.",
            list(labels),
            registry=self.registry,
        ).labels(**labels).set(1)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
