"""``impact measure CONFIG.yaml``: one measurement of one data set, no broker, no run.

The config is a measure config (``DATA``/``MEASUREMENT``/optional ``SCALE``), the format of
a manifest initiative's ``measure_config``; it is checked and its paths are resolved as
``impact publish`` does, so its errors read the same (file, key path, reason).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from impact_contracts import ComponentError, ConfigError
from rich.console import Group
from rich.table import Table

from impact_cli.common import DataRoot, NoCache, console, dump, errors, fail


def load_config(path: Path, data_root: Path | None) -> dict[str, Any]:
    """The checked measure config at ``path`` with absolute data paths.

    Raises:
        ManifestError: every problem, as ``file: KEY.PATH: reason`` lines.
    """
    from impact_orchestrator.manifest.errors import ErrorCollector
    from impact_orchestrator.manifest.files import DataRoot
    from impact_orchestrator.manifest.measure_config import load_measure_config

    path = path.resolve()
    errors = ErrorCollector()
    root = DataRoot((data_root or path.parent).resolve(), errors)
    content = root.load_mapping(path)
    checked = None
    if content is not None:
        checked = load_measure_config(content, named_by=path, key=(), root=root)
    errors.raise_if_any()
    assert checked is not None
    return checked.config


def measure_once(
    config: dict[str, Any],
    *,
    initiative_id: str,
    phase: str,
    seed: int | None,
    sample_size: int | None,
    data_root: Path,
    cache: bool,
) -> dict[str, Any]:
    """``{"initiative_id", "phase", "cached", "result"}`` of one ``Measure`` execution.

    Raises:
        ConfigError, ComponentError: as ``Measure.execute`` does.
    """
    from impact_measure import Measure
    from impact_measure.cache import observe

    component = Measure(data_root=str(data_root), cache=cache)
    event = {
        "initiative_id": initiative_id,
        "phase": phase,
        "measure_config": config,
        "sample_size": sample_size,
        "seed": seed,
    }
    with observe() as observation:
        result = component.execute(event)
    return {
        "initiative_id": initiative_id,
        "phase": phase,
        "cached": observation.cached,
        "result": result,
    }


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:,.{digits}f}"
    return f"{value:,}"


def measurement_tables(measured: dict[str, Any]) -> Group:
    """The estimate (effect, CI, p, sizes, estimand) and its diagnostics."""
    result = measured["result"]
    diagnostics = dict(result.get("diagnostics") or {})
    cached = " (cached)" if measured["cached"] else ""
    title = f"{result['initiative_id']}: {result['model_type']}, {measured['phase']}{cached}"
    estimate = Table.grid(padding=(0, 2))
    level = 1 - float(diagnostics.get("alpha", 0.05))
    rows = [
        ("estimand", str(diagnostics.get("estimand", "—"))),
        ("effect", _number(result["effect_estimate"])),
        (f"{level:.0%} CI", f"[{_number(result['ci_lower'])}, {_number(result['ci_upper'])}]"),
        ("p-value", _number(result.get("p_value"))),
        ("sample size", _number(result["sample_size"])),
    ]
    for key in ("n_treated", "n_control", "n_pre", "n_post"):
        if result.get(key) is not None:
            rows.append((key, _number(result[key])))
    for name, value in rows:
        estimate.add_row(name, value)
    details = Table(title="diagnostics", show_header=False)
    details.add_column("key")
    details.add_column("value", overflow="fold")
    for key in sorted(diagnostics):
        if key == "estimand":
            continue
        value = diagnostics[key]
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        details.add_row(key, text if len(text) <= 200 else f"{text[:197]}...")
    return Group(f"[bold]{title}[/]", estimate, details)


def measure(
    config: Path,
    data_root: DataRoot = None,
    phase: Annotated[
        str, typer.Option(help="pilot, or scale (file sources then read the SCALE data).")
    ] = "pilot",
    seed: Annotated[int | None, typer.Option(help="Seed (simulator and bootstrap).")] = None,
    sample_size: Annotated[
        int | None, typer.Option(help="Units the simulator draws (files: not used).")
    ] = None,
    initiative_id: Annotated[
        str | None, typer.Option(help="Name of the measurement (default: the file name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    no_cache: NoCache = False,
) -> None:
    """One measurement of CONFIG: effect, CI, p-value, sample sizes, diagnostics.

    CONFIG is a measure config (DATA, MEASUREMENT, optional SCALE), as in a manifest
    initiative's measure_config; paths are relative to it, inside --data-root.
    """
    if phase not in ("pilot", "scale"):
        fail(f"--phase: must be 'pilot' or 'scale', got {phase!r}")
    try:
        inlined = load_config(config, data_root)
        measured = measure_once(
            inlined,
            initiative_id=initiative_id or config.stem,
            phase=phase,
            seed=seed,
            sample_size=sample_size,
            data_root=(data_root or config.parent).resolve(),
            cache=not no_cache,
        )
    except ConfigError as exc:
        fail(exc, None if getattr(exc, "errors", None) else config)
    except ComponentError as exc:
        errors.print(f"[red]error[/] {config}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        print(dump(measured))
    else:
        console.print(measurement_tables(measured))
