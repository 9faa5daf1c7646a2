"""Where the CLI's library warnings go: a log file (IMPACT_CLI_LOG, else the stack's log
folder), not the terminal."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from impact_cli import stack

#: Loggers of the libraries whose retries and metadata warnings are noise on a terminal.
NOISY_LIBRARIES = ("aiokafka", "kafka", "httpx", "httpcore", "impact_cli", "impact_observe")


def cli_log_path() -> Path:
    """Where library logs go: IMPACT_CLI_LOG, else the stack's log folder, else a temp file."""
    import tempfile

    if explicit := os.environ.get("IMPACT_CLI_LOG"):
        return Path(explicit)
    try:
        return stack.stack_dir(stack.project_root()) / "logs" / "cli.log"
    except FileNotFoundError:
        return Path(tempfile.gettempdir()) / "impact-cli.log"


def quiet_libraries() -> None:
    """Send library log records (WARNING and up) to the CLI's log file instead of stderr."""
    path = cli_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path)
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in NOISY_LIBRARIES:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "impact_cli", False)]:
            logger.removeHandler(old)
            old.close()
        handler.impact_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
