"""Where the Docker scripts cache what is slow to make (standard library only).

The cache must outlive a clone: CI runs in a fresh clone with an empty HOME, and the next
run on the same machine should reuse the engine's images and the compose plugin.
``IMPACT_CACHE_DIR`` wins; else ``/var/cache/impact-engine`` when it is writable (root);
else ``$XDG_CACHE_HOME/impact-engine`` (``~/.cache/impact-engine``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SYSTEM_CACHE = Path("/var/cache/impact-engine")


def cache_dir() -> Path:
    if explicit := os.environ.get("IMPACT_CACHE_DIR"):
        return Path(explicit)
    if os.access(SYSTEM_CACHE, os.W_OK) or (
        not SYSTEM_CACHE.exists() and os.access(SYSTEM_CACHE.parent, os.W_OK)
    ):
        return SYSTEM_CACHE
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "impact-engine"


def log(name: str, message: str) -> None:
    """Progress goes to stderr so stdout stays parseable."""
    print(f"[{name}] {message}", file=sys.stderr, flush=True)
