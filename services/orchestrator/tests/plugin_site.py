"""A plugin package installed into a scratch site directory, as pip would leave it: the
module plus its dist-info with entry points (for the model and source plugin tests)."""

from __future__ import annotations

from pathlib import Path


def install_plugin_module(site: Path, module: str, source: str, entry_points: str) -> None:
    """``<site>/<module>.py`` holding ``source``, and a ``<module>-0.1.dist-info`` whose
    ``entry_points.txt`` is ``entry_points`` (e.g. ``"[group]\\nname = module:Class\\n"``)."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    name = module.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
