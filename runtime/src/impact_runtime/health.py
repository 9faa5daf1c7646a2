"""A tiny HTTP server: /healthz, /readyz and /metrics on the service's own port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST

Response = tuple[int, str, bytes]
REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


class HealthServer:
    """Answers GET requests from ``is_ready`` and ``render_metrics``; one request per connection."""

    def __init__(
        self,
        host: str,
        port: int,
        is_ready: Callable[[], bool],
        render_metrics: Callable[[], bytes],
    ) -> None:
        self.host = host
        self.requested_port = port
        self.is_ready = is_ready
        self.render_metrics = render_metrics
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was requested)."""
        if self._server is None:
            raise RuntimeError("health server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and serve in the background."""
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port)

    async def stop(self) -> None:
        """Stop accepting and close the socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def respond(self, path: str) -> Response:
        """Status, content type and body for ``path``."""
        path = path.split("?", 1)[0]
        if path == "/healthz":
            return 200, "text/plain", b"ok\n"
        if path == "/readyz":
            ready = self.is_ready()
            return (200, "text/plain", b"ready\n") if ready else (503, "text/plain", b"not ready\n")
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self.render_metrics()
        return 404, "text/plain", b"not found\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request_line.decode("latin-1").split()
            status, ctype, body = (
                self.respond(parts[1]) if len(parts) >= 2 else (404, "text/plain", b"")
            )
            head = (
                f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
