"""Writes on any instance: done here by the writer, forwarded to it by a follower.

A write waits (up to ``writer_wait_s``) while no writer is known (an election in progress)
and retries while the writer it knows does not answer (it just died: the group elects
another one after the session timeout). It then answers 50004 (no writer) or 50003 (the
writer never took it), both retriable, never a wrong id. The writer's answer carries its
log position; the follower answers only once its own state has reached it, so a read on
the follower right after its write sees the write (read-your-writes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

import httpx
from impact_schemas.registry.errors import CONTENT_TYPE, ForwardingFailed, UnknownLeader
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_delay

from impact_registry.schema_log import NotWriter, SchemaLog

#: Set on a forwarded request: the receiver does not forward it again.
FORWARDED = "x-impact-registry-forwarded"
#: The writer's log position after the write (the follower waits for it).
POSITION = "x-impact-registry-position"
#: Request headers the writer needs: the body's type and the caller's credentials.
PASSED = ("content-type", "accept", "authorization")
#: A forwarded request at an instance that is not the writer waits this long for the
#: election to make it one before answering 50003 (the follower then asks again).
FORWARDED_WAIT_S = 2.0
Endpoint = Callable[[Request], Awaitable[Response]]


class WriterBusy(ForwardingFailed):
    """The writer answered 50003/50004 itself (it is being replaced): ask again."""


def _backoff(state: RetryCallState) -> float:
    """No wait after a fencing (the new writer is known at once), else 0.1 s doubling up
    to 0.5 s."""
    outcome = state.outcome
    if outcome is not None and isinstance(outcome.exception(), NotWriter):
        return 0.0
    return min(0.05 * 2**state.attempt_number, 0.5)


class Forwarding:
    """Wraps the write endpoints of the app over ``log``."""

    def __init__(self, log: SchemaLog, writer_wait_s: float) -> None:
        self.log = log
        self.writer_wait_s = writer_wait_s
        self._http: httpx.AsyncClient | None = None

    def writes(self, endpoint: Endpoint) -> Endpoint:
        async def write(request: Request) -> Response:
            return await self.handle(request, endpoint)

        return write

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        """Run ``endpoint`` here if this instance writes, else forward it to the writer;
        retried (backing off up to 0.5 s) until the wait is over."""
        forwarded = FORWARDED in request.headers
        wait_s = FORWARDED_WAIT_S if forwarded else self.writer_wait_s
        deadline = time.monotonic() + wait_s
        failures: list[tuple[str, bool]] = []  # (what failed, whether it was a forward)

        async def once() -> Response:
            writer = await self.log.writer_url(max(0.0, deadline - time.monotonic()))
            if writer is None:
                try:
                    response = await endpoint(request)
                except NotWriter as exc:  # fenced: another instance writes now
                    failures.append((str(exc), False))
                    raise
                response.headers[POSITION] = str(self.log.position)
                return response
            if forwarded:
                raise ForwardingFailed(f"this instance is not the writer ({writer} is)")
            try:
                return await self._forward(request, writer, deadline - time.monotonic())
            except (httpx.TransportError, WriterBusy) as exc:
                failures.append((f"writer {writer}: {exc!r}", True))
                raise

        retrying = AsyncRetrying(
            retry=retry_if_exception_type((NotWriter, httpx.TransportError, WriterBusy)),
            wait=_backoff,
            stop=stop_after_delay(wait_s),
            reraise=True,
        )
        with contextlib.suppress(TimeoutError, NotWriter, httpx.TransportError, WriterBusy):
            async for attempt in retrying:
                with attempt:
                    return await once()
        failure = failures[-1][0] if failures else ""
        if any(forward for _, forward in failures):
            raise ForwardingFailed(f"Error while forwarding the request to the writer: {failure}")
        raise UnknownLeader(
            f"No schema-registry writer was elected within {self.writer_wait_s:.0f} s"
            + (f" ({failure})" if failure else "")
            + "; retry"
        )

    async def _forward(self, request: Request, writer: str, timeout_s: float) -> Response:
        if self._http is None:
            self._http = httpx.AsyncClient()
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED}
        answer = await self._http.request(
            request.method,
            writer.rstrip("/") + request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers={**headers, FORWARDED: "1"},
            timeout=timeout_s,
        )
        if answer.status_code >= 500 and _code(answer) in (50003, 50004):
            raise WriterBusy(answer.text)
        if POSITION in answer.headers:  # late is better than never: the answer is right
            with contextlib.suppress(TimeoutError):
                await self.log.wait_position(int(answer.headers[POSITION]), timeout_s)
        media_type = answer.headers.get("content-type")
        return Response(answer.content, status_code=answer.status_code, media_type=media_type)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def writer_route(log: SchemaLog) -> Route:
    """``GET /v1/metadata/writer``: this instance's URL, whether it writes, and the
    writer's URL (null while unknown)."""

    async def writer(_: Request) -> Response:
        try:
            url = await log.writer_url(0.05)
        except TimeoutError:
            url = None
        else:
            url = log.url if url is None else url
        body = {"url": log.url, "is_writer": log.is_writer, "writer_url": url}
        return JSONResponse(body, media_type=CONTENT_TYPE)

    return Route("/v1/metadata/writer", writer, methods=["GET"])


def _code(answer: httpx.Response) -> int | None:
    try:
        return int(answer.json()["error_code"])
    except (ValueError, KeyError, TypeError):
        return None
