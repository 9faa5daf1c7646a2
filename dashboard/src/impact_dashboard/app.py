"""The dashboard web app (Starlette): the runs list, live run pages, the static report.

Routes: ``/`` runs list, ``/runs/{run_id}`` run page, ``/runs/{run_id}/events`` the page's
server-sent events (``view``: the rendered sections, each time the run moves; ``end``:
the final report has been sent), ``/runs/{run_id}/report.html`` the self-contained report,
``/runs/{run_id}/portfolio.csv`` and ``/runs/{run_id}/portfolio.xlsx`` the portfolio export,
``/runs/{run_id}/approve`` and ``/reject`` (POST, ``decisions``), ``/static/live.js``,
``/healthz``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from impact_dashboard import decisions, export, pages
from impact_dashboard.model import run_view
from impact_dashboard.source import Event, RunSource

#: Least time between two pushes of the same page: a burst of events becomes one update.
PUSH_INTERVAL_S = 0.25


def create_app(source: RunSource, push_interval_s: float = PUSH_INTERVAL_S) -> Starlette:
    """The app over ``source``; closing the app closes the source's bus."""

    async def runs(request: Request) -> Response:
        return HTMLResponse(pages.runs_page(await source.runs()))

    async def run(request: Request) -> Response:
        view = await source.run(request.path_params["run_id"])
        return HTMLResponse(pages.run_page(view))

    async def report(request: Request) -> Response:
        view = await source.run(request.path_params["run_id"])
        return HTMLResponse(pages.report_page(view))

    async def download(request: Request) -> Response:
        run_id, kind = request.path_params["run_id"], request.path_params["kind"]
        if kind not in ("csv", "xlsx"):
            return PlainTextResponse(f"no export {kind!r}: csv or xlsx", status_code=404)
        view = await source.run(run_id)
        if view.status == "waiting":
            return PlainTextResponse(f"unknown run {run_id}: no events found", status_code=404)
        body: str | bytes
        if kind == "csv":
            body, media = export.portfolio_csv(view), "text/csv; charset=utf-8"
        else:
            body = export.portfolio_xlsx(view)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"portfolio-{run_id}.{kind}")
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(body, media_type=media, headers=disposition)

    async def events(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return EventSourceResponse(live_sections(source, run_id, push_interval_s), ping=15)

    async def approve(request: Request) -> Response:
        return await decisions.decide(source, request, "approve")

    async def reject(request: Request) -> Response:
        return await decisions.decide(source, request, "reject")

    async def script(request: Request) -> Response:
        return Response(pages.asset("live.js"), media_type="text/javascript")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await source.bus.close()

    return Starlette(
        routes=[
            Route("/", runs),
            Route("/runs/{run_id}", run),
            Route("/runs/{run_id}/events", events),
            Route("/runs/{run_id}/report.html", report),
            Route("/runs/{run_id}/approve", approve, methods=["POST"]),
            Route("/runs/{run_id}/reject", reject, methods=["POST"]),
            Route("/runs/{run_id}/portfolio.{kind:str}", download),
            Route("/static/live.js", script),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


async def live_sections(
    source: RunSource, run_id: str, push_interval_s: float = PUSH_INTERVAL_S
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events for one run page: the rendered sections whenever new events
    arrived (at most one push per ``push_interval_s``), then the final report with the
    run's dead letters, then ``end``."""
    seen: list[Event] = []
    changed = asyncio.Event()

    async def pump() -> None:
        async with aclosing(source.follow(run_id)) as stream:
            async for item in stream:
                seen.append(item)
                changed.set()

    follower = asyncio.create_task(pump())
    try:
        while True:
            await _first_of(changed.wait(), follower)
            changed.clear()
            pushed_at = time.monotonic()
            view = run_view(run_id, list(seen))
            if view.finished:
                view.dead_letters = await source.dead_letters(run_id)
                yield {"event": "view", "data": pages.run_sections(view)}
                yield {"event": "end", "data": view.status}
                return
            yield {"event": "view", "data": pages.run_sections(view)}
            await asyncio.sleep(max(0.0, push_interval_s - (time.monotonic() - pushed_at)))
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


async def _first_of(wait: Any, follower: asyncio.Task[None]) -> None:
    """Wait for new events; re-raise if the follower failed (the stream then ends)."""
    waiter = asyncio.ensure_future(wait)
    done, _ = await asyncio.wait({waiter, follower}, return_when=asyncio.FIRST_COMPLETED)
    if follower in done:
        waiter.cancel()
        follower.result()
        raise RuntimeError("the run's event stream ended")
