"""impact: publish manifests, follow runs, run embedded, and start the local stack.

Connection settings come from --bootstrap/--registry, else the environment
(KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL), else the stack that impact up started
from this checkout. Library warnings go to a log file (IMPACT_CLI_LOG, default
var/stack/logs/cli.log), not to the terminal.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from impact_contracts import ConfigError
from rich.console import Console

from impact_cli import history, lifecycle, measure, render, report_command, stack, status_command
from impact_cli.common import DataRoot, NoCache, console, dump, errors, fail
from impact_cli.decision import manifest_brief, run_problem
from impact_cli.options import Bootstrap, Prefix, Registry
from impact_cli.options import bus as _bus
from impact_cli.scale_check import warn_scale_data

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_show_locals=False)

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


@app.callback()
def _configure(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="IMPACT_STACK_DIR",
            help="Where impact up keeps the local stack's state, logs and broker data "
            "(default: var/stack in the checkout).",
        ),
    ] = None,
) -> None:
    if home is not None:
        os.environ["IMPACT_STACK_DIR"] = str(home.expanduser().resolve())
    quiet_libraries()


def _load(manifest: Path, data_root: Path | None, no_cache: bool = False) -> Any:
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


@app.command()
def check(manifest: Path, data_root: DataRoot = None) -> None:
    """Validate MANIFEST and read its data as the measure services would (reachability,
    columns, types) without measuring; one line per problem, exit 2 if any."""
    loaded = _load(manifest, data_root)
    _check_data(manifest, loaded, data_root)
    warn_scale_data(loaded, str(manifest))
    console.print(f"[green]ok[/] {manifest}: {len(loaded.initiatives)} initiatives checked")


def _accepts_cache(component: str) -> bool:
    from impact_orchestrator.manifest import default_registries

    parameters = inspect.signature(default_registries().measure.get(component)).parameters
    return "cache" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


@app.command()
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

    loaded = _load(manifest, data_root, no_cache)
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


@app.command()
def tail(
    run_id: str,
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final report as JSON.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
) -> None:
    """Follow RUN_ID: progress bars per stage, then the outcome report. An embedded run
    (impact run) is read from the local run history."""
    import asyncio

    manifest: dict[str, Any] = {}
    completed = history.recorded_report(run_id, manifest)
    if completed is None:
        bus = _bus(bootstrap, registry, prefix)
        follow = _follow(bus, run_id, timeout, show=not as_json, manifest=manifest)
        completed = asyncio.run(follow)
    if completed is None:
        errors.print(f"[red]timed out[/] after {timeout:.0f} s waiting for run {run_id}")
        raise typer.Exit(3)
    if as_json:
        print(dump(completed))
    else:
        console.print(render.report_tables(completed, manifest or None))
    if completed["status"] != "completed":
        raise typer.Exit(1)


async def _follow(
    bus: Any, run_id: str, timeout: float, show: bool, manifest: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Progress bars until the run completes; None on timeout. ``manifest`` (when given)
    is filled with the run's manifest payload, for the report's why-not reasons.

    ``run_completed`` and ``run_status`` are separate topics, so the report may arrive
    before the last progress events. The orchestrator's final status (stage ``report``,
    state completed/failed) comes after every other status of the run on the same
    partition, so the bars are final once it has been seen too.
    """
    bars = render.progress_bars(console if show else Console(quiet=True))
    tasks: dict[str, Any] = {}
    completed: dict[str, Any] | None = None
    final_status_seen = False
    try:
        with bars:
            async for name, value in bus.follow(
                run_id, ["manifest_submitted", "run_status", "run_completed"], timeout_s=timeout
            ):
                if name == "manifest_submitted":
                    if manifest is not None:
                        manifest.update(value)
                    continue
                if name == "run_completed":
                    completed = dict(value)
                else:
                    stage_name = value["stage"]
                    if stage_name not in tasks:
                        tasks[stage_name] = bars.add_task(stage_name, total=max(value["total"], 1))
                    bars.update(
                        tasks[stage_name], completed=value["completed"], total=value["total"]
                    )
                    final_status_seen |= stage_name == "report" and value["state"] != "running"
                if completed is not None and final_status_seen:
                    return completed
        return completed
    finally:
        await bus.close()


@app.command()
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
    loaded = _load(manifest, data_root, no_cache)
    completed = history.run_recorded(loaded, max_workers=max_workers, executor=executor)
    if as_json:
        print(dump(completed))
    else:
        console.print(render.report_tables(completed, manifest_brief(loaded)))
    if problem := run_problem(completed):
        errors.print(problem, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1)


@app.command()
def ui(
    bootstrap: Bootstrap = None,
    registry: Registry = None,
    prefix: Prefix = "impact.",
    host: Annotated[
        str, typer.Option(envvar="IMPACT_DASHBOARD_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="IMPACT_DASHBOARD_PORT", help="Port.")] = 8050,
) -> None:
    """The run dashboard in the browser: runs list, live run pages, reports."""
    from impact_dashboard.commands import serve

    console.print(f"dashboard on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    serve(_bus(bootstrap, registry, prefix), host, port)


app.command("report")(report_command.report)
app.command("status")(status_command.status)
app.command("measure")(measure.measure)
history.register(app)
lifecycle.register(app)


@app.command()
def up(
    measure: Annotated[int, typer.Option(min=1, help="Measure replicas.")] = 1,
    evaluate: Annotated[int, typer.Option(min=1, help="Evaluate replicas.")] = 1,
    allocate: Annotated[int, typer.Option(min=1, help="Allocate replicas.")] = 1,
    orchestrator: Annotated[int, typer.Option(min=1, help="Orchestrator replicas.")] = 1,
    data_root: Annotated[
        Path | None,
        typer.Option(
            "--data-root",
            help="The services read files only under this folder (default: IMPACT_DATA_ROOT, "
            "else the checkout).",
        ),
    ] = None,
) -> None:
    """Start the local broker, schema registry and services (as processes)."""
    replicas = {
        "measure": measure,
        "evaluate": evaluate,
        "allocate": allocate,
        "orchestrator": orchestrator,
    }
    stack.up(stack.project_root(), replicas, say=console.print, data_root=data_root)


@app.command()
def down(
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the broker's data (every run).")
    ] = False,
) -> None:
    """Stop everything impact up started; the broker's data is kept for the next up."""
    stack.down(stack.project_root(), say=console.print, purge=purge)


@app.command()
def demo(
    manifest: Annotated[Path, typer.Argument(help="The manifest to run.")] = Path(
        "examples/manifest.yaml"
    ),
    measure: Annotated[int, typer.Option(min=1, help="Measure replicas.")] = 2,
    keep: Annotated[bool, typer.Option(help="Leave the stack running afterwards.")] = False,
    timeout: float = 600.0,
) -> None:
    """The main job: start the stack, publish MANIFEST, follow it, print the report."""
    import asyncio

    root = stack.project_root()
    loaded = _load(manifest, None)
    stack.up(root, {"measure": measure}, say=console.print)
    try:
        bus = _bus(None, None, "impact.")

        async def go() -> dict[str, Any] | None:
            run_id = await bus.publish_manifest(loaded.to_event_payload())
            console.print(f"published run [bold]{run_id}[/]")
            return await _follow(bus, run_id, timeout, show=True)

        completed = asyncio.run(go())
        if completed is None:
            errors.print(f"[red]timed out[/] after {timeout:.0f} s")
            raise typer.Exit(3)
        console.print(render.report_tables(completed, manifest_brief(loaded)))
    finally:
        if not keep:
            stack.down(root, say=console.print)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
