"""Optional HTTP basic auth for the registry server (off unless users are configured).

Users come from ``IMPACT_REGISTRY_BASIC_AUTH`` as ``user:password[,user:password...]``.
Confluent clients send them from ``basic.auth.user.info``; ours from ``basic_auth=`` or
``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO``. A request without valid credentials gets 401
with Confluent's ``{"error_code": 401, "message": "Unauthorized"}`` body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json

from impact_schemas.registry.errors import CONTENT_TYPE
from starlette.types import ASGIApp, Receive, Scope, Send

USERS_ENV = "IMPACT_REGISTRY_BASIC_AUTH"


def parse_users(text: str | None) -> dict[str, str]:
    """``user:password`` pairs, comma-separated → ``{user: password}``.

    Raises:
        ValueError: an entry has no ``:`` or an empty user name.
    """
    users: dict[str, str] = {}
    for entry in (text or "").split(","):
        if not entry.strip():
            continue
        user, sep, password = entry.strip().partition(":")
        if not sep or not user:
            raise ValueError(f"{USERS_ENV}: expected user:password, got {user or entry!r}")
        users[user] = password
    return users


class BasicAuth:
    """ASGI middleware: every HTTP request must carry one of ``users``' credentials."""

    def __init__(self, app: ASGIApp, users: dict[str, str]) -> None:
        self.app = app
        self.users = users

    def allowed(self, header: bytes | None) -> bool:
        if header is None or not header.lower().startswith(b"basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = self.users.get(user)
        return expected is not None and hmac.compare_digest(expected, password)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allowed(dict(scope["headers"]).get(b"authorization")):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error_code": 401, "message": "Unauthorized"}).encode()
        headers = [
            (b"content-type", CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Basic realm="SchemaRegistry"'),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
