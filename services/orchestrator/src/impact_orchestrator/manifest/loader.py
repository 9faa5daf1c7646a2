"""``load_manifest``: read, resolve and validate a manifest, reporting every problem."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from impact_measure.api import storage_problem, storage_root
from pydantic import ValidationError

from impact_orchestrator.manifest.errors import ErrorCollector, ManifestError
from impact_orchestrator.manifest.files import DataRoot
from impact_orchestrator.manifest.limits import (
    MAX_SIMULATED_CELLS,
    Limits,
)
from impact_orchestrator.manifest.measure_config import InlinedConfig, load_measure_config
from impact_orchestrator.manifest.model import VALUE_KEYS, InitiativeSpec, Manifest, no_cyclic_gc
from impact_orchestrator.manifest.schema import ManifestFile
from impact_orchestrator.manifest.stages import (
    STAGE_SECTIONS,
    Catalogs,
    StageConfig,
    default_catalogs,
    load_stage,
)

PROGRESS_EVERY = 1000

#: (index in INITIATIVES, entry, its checked config)
Loaded = tuple[int, dict[str, Any], InlinedConfig]
#: ``on_progress(initiatives_checked, total)``
Progress = Callable[[int, int], None]


#: How errors name a manifest given as a mapping (paths in it are taken from the cwd).
MAPPING_NAME = "<manifest>"


def load_manifest(
    path: str | Path | Mapping[str, Any],
    data_root: str | Path | None = None,
    *,
    catalogs: Catalogs | None = None,
    limits: Limits | None = None,
    storage: str | Path | None = None,
    on_progress: Progress | None = None,
) -> Manifest:
    """Load ``path`` into a validated :class:`Manifest`.

    Arguments:
        path: the manifest YAML file, or the manifest as a mapping (its relative paths
            are taken from the working directory; errors name it ``<manifest>``).
        data_root: every path the manifest (or a file it names) uses must stay inside it;
            default: the manifest's directory (the working directory for a mapping).
        catalogs: component catalogs to check stage sections against; default: the
            installed measure/evaluate/allocate packages.
        limits: size and count limits (default: :class:`Limits`).
        storage: the storage root every ``storage_url`` must stay inside; default: the
            operator's (``IMPACT_STORAGE_ROOT``, else ``var/storage``).
        on_progress: called with (initiatives checked, total) every 1,000 initiatives.

    Raises:
        ManifestError: when anything is invalid; ``.errors`` lists each problem as
            ``<file>: <key path>: <reason>``.
    """
    with no_cyclic_gc():
        return _load(path, data_root, catalogs, limits or Limits(), storage, on_progress)


def _load(
    path: str | Path | Mapping[str, Any],
    data_root: str | Path | None,
    catalogs: Catalogs | None,
    limits: Limits,
    storage: str | Path | None,
    on_progress: Progress | None,
) -> Manifest:
    if isinstance(path, str | Path):
        given, manifest_path = None, Path(path).resolve()
    else:
        given, manifest_path = dict(path), Path(MAPPING_NAME).resolve()
    root_dir = Path(data_root).resolve() if data_root is not None else manifest_path.parent
    errors = ErrorCollector(limits.errors_shown)
    files = DataRoot(root_dir, errors, limits)
    name = MAPPING_NAME if given is not None else files.display(manifest_path)
    if given is None and not manifest_path.is_file():
        raise ManifestError([f"{path}: file not found"])
    raw = given if given is not None else files.load_mapping(manifest_path)
    errors.raise_if_any()
    _check_count(raw.get("INITIATIVES"), name, limits, errors)
    run = _validate_run_level(raw, name, errors)
    storage_dir = Path(storage).resolve() if storage is not None else storage_root()
    _check_storage(raw.get("storage_url"), "storage_url", name, storage_dir, errors)
    catalogs = catalogs or default_catalogs()
    stages = {
        section: load_stage(
            section,
            raw.get(section),
            named_by=manifest_path,
            root=files,
            catalog=catalogs.for_section(section),
            storage=storage_dir,
        )
        for section in STAGE_SECTIONS
    }
    loaded = _load_initiatives(raw.get("INITIATIVES"), manifest_path, files, on_progress)
    if run is not None:
        _check_scale_cells(run.scale_sample_size, loaded, name, errors)
        _check_units(run, name, errors)
    errors.raise_if_any()
    assert run is not None
    initiatives = [
        InitiativeSpec(
            initiative_id=entry["initiative_id"],
            cost_to_scale=entry["cost_to_scale"],
            measure_config=config.config,
            **{key: entry[key] for key in VALUE_KEYS if entry.get(key) is not None},
        )
        for _, entry, config in loaded
    ]
    try:
        return Manifest(
            budget=run.budget,
            scale_sample_size=run.scale_sample_size,
            max_workers=run.max_workers,
            storage_url=run.storage_url,
            deadline_s=run.deadline,
            deadline_policy=run.deadline_policy,
            seed=run.seed,
            measure=_required(stages["MEASURE"]),
            evaluate=_required(stages["EVALUATE"]),
            allocate=_required(stages["ALLOCATE"]),
            initiatives=initiatives,
            source=str(manifest_path),
            unit=run.unit,
            approval=run.approval,
            pilot_only=run.pilot_only,
            approval_days=run.deadlines.approval_days,
            scale_days=run.deadlines.scale_days,
            name=run.name,
        )
    except ValidationError as exc:  # a limit of the manifest_submitted contract
        errors.add_validation(name, (), exc)
        errors.raise_if_any()
        raise


def _check_units(run: ManifestFile, name: str, errors: ErrorCollector) -> None:
    """Every initiative's value must be in one unit: the manifest's ``unit`` (through
    ``value_per_unit``, or an ``outcome_unit`` equal to it), or, without a manifest unit,
    one shared ``outcome_unit``. Effects in different units are never added."""
    declared = sorted(
        {e.outcome_unit for e in run.INITIATIVES if e.value_per_unit is None} - {None}
    )  # type: ignore[type-var]
    for index, entry in enumerate(run.INITIATIVES):
        key = f"INITIATIVES[{index}]"
        if entry.value_per_unit is not None and run.unit is None:
            reason = (
                f"{entry.initiative_id!r} converts its effect to a common unit: set the "
                "manifest's unit"
            )
            errors.add(name, f"{key}.value_per_unit", reason)
        elif entry.value_per_unit is None and entry.outcome_unit is not None:
            if run.unit is not None and entry.outcome_unit != run.unit:
                reason = (
                    f"{entry.initiative_id!r} measures {entry.outcome_unit!r}, not the "
                    f"manifest unit {run.unit!r}: give value_per_unit (a {run.unit} per "
                    f"{entry.outcome_unit})"
                )
                errors.add(name, f"{key}.value_per_unit", reason)
            elif run.unit is None and len(declared) > 1:
                reason = (
                    f"{entry.initiative_id!r} measures {entry.outcome_unit!r} but other "
                    f"initiatives measure {[u for u in declared if u != entry.outcome_unit]}: "
                    "set the manifest's unit and each initiative's value_per_unit"
                )
                errors.add(name, f"{key}.value_per_unit", reason)


def _check_count(entries: Any, name: str, limits: Limits, errors: ErrorCollector) -> None:
    """Stop before any per-initiative work when there are too many initiatives."""
    if isinstance(entries, list) and len(entries) > limits.initiatives:
        reason = f"must have at most {limits.initiatives} initiatives, got {len(entries)}"
        errors.add(name, "INITIATIVES", reason)
        errors.raise_if_any()


def _check_storage(value: Any, key: str, name: str, storage: Path, errors: ErrorCollector) -> None:
    """A ``storage_url`` is a sub-path of the operator's storage root, never a location
    (a non-string is reported by the run-level validation)."""
    if isinstance(value, str):
        problem = storage_problem(value, storage)
        if problem is not None:
            errors.add(name, key, problem)


def _check_scale_cells(
    sample_size: int,
    loaded: list[Loaded],
    name: str,
    errors: ErrorCollector,
) -> None:
    """At scale the simulator draws ``scale_sample_size`` products for each simulated day;
    report the first initiative over the limit (and how many more are)."""
    over = [
        (index, config.scale_days)
        for index, _, config in loaded
        if config.scale_days is not None and sample_size * config.scale_days > MAX_SIMULATED_CELLS
    ]
    if over:
        index, days = over[0]
        others = f" (and {len(over) - 1} more initiatives)" if len(over) > 1 else ""
        errors.add(
            name,
            "scale_sample_size",
            f"{sample_size} products x {days} days of INITIATIVES[{index}]{others} = "
            f"{sample_size * days} simulated product-days at scale, must be <= "
            f"{MAX_SIMULATED_CELLS}",
        )


def _validate_run_level(raw: dict[str, Any], name: str, errors: ErrorCollector) -> Any:
    try:
        return ManifestFile.model_validate(raw)
    except ValidationError as exc:
        errors.add_validation(name, (), exc)
        return None


def _load_initiatives(
    entries: Any, manifest_path: Path, files: DataRoot, on_progress: Progress | None
) -> list[Loaded]:
    """Inline each initiative's measure config and reject duplicate ids; the entries
    whose config is valid, with it."""
    if not isinstance(entries, list):
        return []  # the run-level validation already reported it
    name = files.display(manifest_path)
    loaded: list[Loaded] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if on_progress is not None and index % PROGRESS_EVERY == 0:
            on_progress(index, len(entries))
        if not isinstance(entry, dict):
            continue
        initiative_id = entry.get("initiative_id")
        if isinstance(initiative_id, str) and initiative_id:
            if initiative_id in seen:
                key = f"INITIATIVES[{index}].initiative_id"
                files.errors.add(name, key, f"duplicate {initiative_id!r}")
            seen.add(initiative_id)
        if "measure_config" not in entry:
            continue
        config = load_measure_config(
            entry["measure_config"],
            named_by=manifest_path,
            key=("INITIATIVES", index, "measure_config"),
            root=files,
        )
        if config is not None:
            loaded.append((index, entry, config))
    if on_progress is not None:
        on_progress(len(entries), len(entries))
    return loaded


def _required(stage: StageConfig | None) -> StageConfig:
    assert stage is not None
    return stage
