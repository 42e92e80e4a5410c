"""The API over a real stack (time-skipping Temporal, embedded PostgreSQL), with keys for every role."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from PIL import Image

from rectify.api.app import create_app
from rectify.api.keys import KeyStore
from rectify.city.sampling import point_in
from rectify.devstack import EmbeddedPostgres, TestStack, free_port
from rectify.domain.types import Role


@dataclass
class Api:
    stack: TestStack
    http: httpx.AsyncClient
    keys: dict[str, str]
    app: object

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def spot(self, territory: str = "st_guanyinqiao", index: int = 0) -> tuple[float, float]:
        p = point_in(self.stack.city, territory, index=index)
        return p.lat, p.lon

    async def report(self, code: str = "street_vending", at: tuple[float, float] | None = None, **extra: str) -> dict:
        lat, lon = at or self.spot()
        form = {
            "api_key": self.keys["app"],
            "service_code": code,
            "lat": str(lat),
            "long": str(lon),
            "description": "流动摊贩占道经营",
        } | extra
        response = await self.http.post("/open311/v2/requests.json", data=form)
        assert response.status_code == 200, response.text
        return response.json()[0]


@contextlib.asynccontextmanager
async def api_stack(pg: EmbeddedPostgres, tmp: Path, **options: object) -> AsyncIterator[Api]:
    async with TestStack(pg=pg) as stack:
        app = create_app(stack.client, evidence_dir=tmp / "evidence", **options)
        store = KeyStore(stack.store.pool)
        lead = stack.city.router.route("street_vending", point_in(stack.city, "st_guanyinqiao")).lead_unit
        keys = {}
        actors = [
            ("app", "app_wechat", Role.REPORTER),
            ("lead", lead, Role.UNIT),
            ("other", "st_huaxinjie", Role.UNIT),
            ("dispatcher", "office_command", Role.DISPATCHER),
            ("inspector", "office_inspection", Role.INSPECTOR),
            ("auditor", "audit", Role.AUDITOR),
            ("revoked", "app_old", Role.REPORTER),
        ]
        for name, unit, role in actors:
            keys[name], key = await store.create(unit, role, name)
        await store.revoke(key.key_id)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rectify.test") as http:
            yield Api(stack, http, keys, app)


def png(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def served(api: Api) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
