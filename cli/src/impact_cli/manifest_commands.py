"""The commands that take a manifest: check, publish and run (embedded), and the
validation they share."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from impact_contracts import ConfigError

from impact_cli import history, render, stack
from impact_cli.common import DataRoot, NoCache, console, dump, errors, fail
from impact_cli.decision import manifest_brief, run_problem
from impact_cli.options import Bootstrap, Prefix, Registry
from impact_cli.options import bus as _bus
from impact_cli.scale_check import warn_scale_data


def load(manifest: Path, data_root: Path | None, no_cache: bool = False) -> Any:
    from impact_orchestrator.manifest import load_manifest

    status = errors.status(f"validating {manifest}")  # a spinner on a terminal only
    try:
        with status:
            loaded = load_manifest(
                manifest,
                data_root=data_root,
                on_progress=lambda n, total: status.update(f"validating {manifest}: {n}/{total}"),
            )
    except ConfigError as exc:
        fail(exc)
    if not no_cache:
        return loaded
    if not _accepts_cache(loaded.measure.component):
        fail(f"--no-cache: measure component {loaded.measure.component!r} has no cache switch")
    return loaded.without_cache()


def _services_data_root(bootstrap: str | None) -> Path | None:
    """The data root of the stack ``impact up`` started, when publishing to it."""
    try:
        state = stack.StackState.load(stack.project_root())
    except FileNotFoundError:
        return None
    if state is None or state.data_root is None or bootstrap not in (None, state.bootstrap):
        return None
    return Path(state.data_root)


def _check_data(manifest: Path, loaded: Any, data_root: Path | None) -> None:
    """Exit 2 with one line per problem when the data cannot be measured."""
    from impact_orchestrator.data_check import check_data
    from impact_orchestrator.manifest import ManifestError

    status = errors.status(f"checking the data of {manifest}")
    with status:
        problems = check_data(
            loaded,
            data_root=data_root or manifest.resolve().parent,
            name=str(manifest),
            on_progress=lambda n, total: status.update(f"checking the data: {n}/{total}"),
        )
    if problems:
        fail(ManifestError(problems))


def check(manifest: Path, data_root: DataRoot = None) -> None:
    """Validate MANIFEST and read its data as the measure services would (reachability,
    columns, types) without measuring; one line per problem, exit 2 if any."""
    loaded = load(manifest, data_root)
    _check_data(manifest, loaded, data_root)
    warn_scale_data(loaded, str(manifest))
    console.print(f"[green]ok[/] {manifest}: {len(loaded.initiatives)} initiatives checked")


def _accepts_cache(component: str) -> bool:
    from impact_orchestrator.manifest import default_catalogs

    parameters = inspect.signature(default_catalogs().measure.get(component)).parameters
    return "cache" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def publish(
    manifest: Path,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    data_root: DataRoot = None,
    run_id: Annotated[
        str | None, typer.Option(help="Use this run id (default: a new uuid).")
    ] = None,
    no_cache: NoCache = False,
    skip_data_check: Annotated[
        bool, typer.Option("--skip-data-check", help="Publish without reading the data first.")
    ] = False,
) -> None:
    """Validate MANIFEST, check its data (as impact check does), inline its files and publish
    it; prints the run id. Nothing is published when a check fails."""
    import asyncio

    from impact_observe.bus import EventTooLarge

    loaded = load(manifest, data_root, no_cache)
    if not skip_data_check:
        _check_data(manifest, loaded, data_root or _services_data_root(bootstrap))
    warn_scale_data(loaded, str(manifest))
    bus = _bus(bootstrap, registry, prefix)

    async def go() -> str:
        try:
            return str(await bus.publish_manifest(loaded.to_event_payload(), run_id))
        finally:
            await bus.close()

    try:
        print(asyncio.run(go()))
    except EventTooLarge as exc:
        errors.print(f"[red]error[/] {manifest}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def run(
    manifest: Path,
    data_root: DataRoot = None,
    max_workers: Annotated[
        int | None, typer.Option(help="Threads or worker processes (default: manifest).")
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="Where components run: auto (worker processes for a large run, else "
            "threads), process, thread."
        ),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    no_cache: NoCache = False,
) -> None:
    """Embedded mode: run MANIFEST in this process with no broker."""
    from impact_orchestrator.workers import EXECUTOR_KINDS

    if executor not in EXECUTOR_KINDS:
        fail(f"--executor: must be one of {', '.join(EXECUTOR_KINDS)}, got {executor!r}")
    loaded = load(manifest, data_root, no_cache)
    completed = history.run_recorded(loaded, max_workers=max_workers, executor=executor)
    if as_json:
        print(dump(completed))
    else:
        console.print(render.report_tables(completed, manifest_brief(loaded)))
    if problem := run_problem(completed):
        errors.print(problem, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1)
