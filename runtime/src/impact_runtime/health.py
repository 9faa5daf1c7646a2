"""/healthz, /readyz and /metrics on the service's own port: a Starlette app served by
uvicorn inside the service's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

#: Every response closes its connection (probes and scrapers open one per request).
CLOSE = {"Connection": "close"}


def health_app(is_ready: Callable[[], bool], render_metrics: Callable[[], bytes]) -> Starlette:
    """The three routes; anything else is 404 ``not found``."""

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n", headers=CLOSE)

    async def readyz(_: Request) -> Response:
        if is_ready():
            return PlainTextResponse("ready\n", headers=CLOSE)
        return PlainTextResponse("not ready\n", status_code=503, headers=CLOSE)

    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST, headers=CLOSE)

    async def not_found(_: Request, __: Exception) -> Response:
        return PlainTextResponse("not found\n", status_code=404, headers=CLOSE)

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    return Starlette(routes=routes, exception_handlers={404: not_found})


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers to the service, tells
    when its startup is over (``up``) and waits for ``exit`` without uvicorn's 0.1 s tick
    (an idle service wakes for nothing; no ``Date`` header)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()
        self.exit = asyncio.Event()

    async def main_loop(self) -> None:
        await self.exit.wait()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.up.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """Serves ``health_app`` in the background of the running event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        is_ready: Callable[[], bool],
        render_metrics: Callable[[], bytes],
    ) -> None:
        self.host = host
        self.requested_port = port
        self.app = health_app(is_ready, render_metrics)
        self._socket: socket.socket | None = None
        self._server: _EmbeddedServer | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was requested)."""
        if self._socket is None:
            raise RuntimeError("health server is not started")
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        """Bind (an OSError if the port is taken) and serve in the background."""
        family = socket.getaddrinfo(self.host, None, type=socket.SOCK_STREAM)[0][0]
        self._socket = socket.create_server((self.host, self.requested_port), family=family)
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=1
        )
        self._server = _EmbeddedServer(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        await self._server.up.wait()
        if not self._server.started:
            await self.stop()
            raise RuntimeError("health server did not start")

    async def stop(self) -> None:
        """Stop accepting, finish open requests and close the socket."""
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            self._server.exit.set()
            with contextlib.suppress(Exception):
                await self._serving
        if self._socket is not None:
            self._socket.close()
        self._server = self._serving = self._socket = None
