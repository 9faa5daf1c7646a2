"""structlog setup: JSON lines (default) or a console renderer."""

from __future__ import annotations

import logging
import sys

import structlog

from impact_runtime.settings import LogFormat, LogLevel


def configure_logging(level: LogLevel = "INFO", fmt: LogFormat = "json") -> None:
    """Configure structlog (and stdlib logging for aiokafka) process-wide."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
