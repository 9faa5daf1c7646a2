"""The compatibility level and the mode, of the registry and of one subject: the part of
``RegistryClient`` that reads and sets them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from impact_schemas.registry.transport import flags


class RegistrySettings:
    """Level and mode requests; ``RegistryClient`` provides ``_request``."""

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        raise NotImplementedError

    async def get_config(
        self, subject: str | None = None, *, default_to_global: bool = True
    ) -> str:
        """The compatibility level of ``subject`` (or the global one).

        ``default_to_global`` False: only a level set on the subject (else 40408).
        """
        if subject is None:
            return str((await self._request("GET", "/config"))["compatibilityLevel"])
        path = f"/config/{quote(subject, safe='')}{flags(defaultToGlobal=default_to_global)}"
        return str((await self._request("GET", path))["compatibilityLevel"])

    async def set_config(self, level: str, subject: str | None = None) -> str:
        """Set the compatibility level of ``subject`` (or the global one)."""
        path = "/config" if subject is None else f"/config/{quote(subject, safe='')}"
        return str((await self._request("PUT", path, {"compatibility": level}))["compatibility"])

    async def delete_config(self, subject: str) -> str:
        """Remove the subject's level (it follows the global one again); returns it."""
        path = f"/config/{quote(subject, safe='')}"
        return str((await self._request("DELETE", path))["compatibilityLevel"])

    async def get_mode(self, subject: str | None = None, *, default_to_global: bool = False) -> str:
        """``READWRITE`` or ``READONLY`` (``READONLY_OVERRIDE``), globally or of ``subject``."""
        path = "/mode" if subject is None else f"/mode/{quote(subject, safe='')}"
        return str(
            (await self._request("GET", path + flags(defaultToGlobal=default_to_global)))["mode"]
        )

    async def set_mode(self, mode: str, subject: str | None = None) -> str:
        path = "/mode" if subject is None else f"/mode/{quote(subject, safe='')}"
        return str((await self._request("PUT", path, {"mode": mode}))["mode"])

    async def delete_mode(self, subject: str) -> str:
        return str((await self._request("DELETE", f"/mode/{quote(subject, safe='')}"))["mode"])
