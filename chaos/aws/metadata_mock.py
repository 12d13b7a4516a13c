"""Notices put straight on instances' metadata: the local simulator's control API, its stand-in
for deploying amazon-ec2-metadata-mock next to a node.  NTH in IMDS mode finds them by polling."""

from __future__ import annotations

from typing import Any

import aiohttp

from chaos.errors import InjectionError


class MetadataMock:
    def __init__(self, control_url: str) -> None:
        self.url = control_url.rstrip("/")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                async with session.request(method, self.url + path, json=body) as resp:
                    data = await resp.json(content_type=None)
                    if resp.status >= 400:
                        raise InjectionError(f"the metadata mock refused {method} {path}: {data.get('error', resp.status)}")
                    return dict(data)
        except aiohttp.ClientError as exc:
            raise InjectionError(f"the metadata mock at {self.url} cannot be reached: {exc}") from None

    async def spot_interruption(self, instance_id: str, notice: float, owner: str | None = None) -> dict[str, Any]:
        # reclaim: a real Spot interruption takes the instance at the notice's end; owner: the run id, listed back
        return await self._call("POST", f"/v1/instances/{instance_id}/spot-interruption",
                                {"seconds_before_interruption": notice, "rebalance": False, "reclaim": True, "owner": owner})

    async def rebalance(self, instance_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/instances/{instance_id}/rebalance-recommendation")

    async def instances(self) -> list[dict[str, Any]]:
        """Every instance the mock serves, with `notice` (shown now) and `notice_owner`."""
        return list((await self._call("GET", "/v1/instances")).get("instances", []))

    async def withdraw(self, instance_id: str) -> bool:
        return bool((await self._call("DELETE", f"/v1/instances/{instance_id}/spot-interruption")).get("cleared"))
