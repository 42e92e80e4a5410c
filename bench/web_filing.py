"""Filing through the web form (随手拍) against filing through Open311, on the same server, in the same run.

One API server (uvicorn, the API and the pages on one port) over one stack on the Temporal dev server, in real
time. Both sides send a report over HTTP and wait for its answer, `width` at a time, in turns (Open311, web, web,
Open311, half of the reports each time), so a drift in the machine's load falls on both:

- Open311: `POST /open311/v2/requests.json`, form-encoded, with an API key and an `Idempotency-Key`, as an app
  files; it names no photo (a `media_url` at most).
- Web: `POST /public/snap`, multipart, with the form's CSRF token and key and a phone photo (800×600 JPEG with EXIF
  and GPS), which the page checks, reads and keeps. Each lane loads the form once for its session; a person then
  fills in a new form per report, so each report carries a key of its own, as the page would have issued it.

Both go through the SDK's intake (the duplicate rule, the case workflow, the append); every report lands on its own
point of the lattice so that none joins another. The per-caller limits are lifted on both sides (they would cap
the rates, not measure them). The figure is the web's reports a second over Open311's, target ≥ 0.8×.
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import ExifTags, Image, ImageDraw

from bench.results import Target, row
from bench.temporal import concurrently
from rectify.api.app import create_app
from rectify.api.keys import KeyStore
from rectify.api.serve import serving_app
from rectify.city.sampling import inside_points
from rectify.devstack import TestStack, free_port
from rectify.domain.types import Role
from rectify.web.context import FilingLimit

UNLIMITED = 1e9


def phone_photo() -> bytes:
    """A JPEG as a phone makes it, with EXIF time and GPS."""
    image = Image.new("RGB", (800, 600), (210, 220, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 800, 600), fill=(118, 122, 128))
    draw.rectangle((80, 180, 320, 380), fill=(180, 70, 50))
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2026:11:30 08:15:00"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (29.0, 34.0, 41.0), 3: "E", 4: (106.0, 31.0, 58.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


class Sides:
    def __init__(self, stack: TestStack, url: str, api_key: str, width: int) -> None:
        self.points, self.tag, self.url, self.api_key = inside_points(stack.city), uuid.uuid4().hex[:6], url, api_key
        self.open311 = httpx.AsyncClient(base_url=url, timeout=60)
        self.browsers: list[tuple[httpx.AsyncClient, str]] = []
        self.width, self.photo = width, phone_photo()

    async def __aenter__(self) -> Sides:
        for _ in range(self.width):  # a session (cookie and CSRF token) per lane, as each phone has its own
            http = httpx.AsyncClient(base_url=self.url, timeout=60)
            page = (await http.get("/public/snap")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            if token is None:
                raise RuntimeError("the 随手拍 form has no CSRF token")
            self.browsers.append((http, token[1]))
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.open311.aclose()
        for http, _token in self.browsers:
            await http.aclose()

    def _place(self, i: int) -> Any:
        return self.points[i % len(self.points)]

    async def by_open311(self, i: int) -> None:
        place = self._place(2 * i)
        answer = await self.open311.post(
            "/open311/v2/requests.json",
            data={
                "api_key": self.api_key,
                "service_code": "street_vending",
                "lat": str(place.lat),
                "long": str(place.lon),
                "description": "人行道上有流动摊贩",
            },
            headers={"Idempotency-Key": f"bench-{self.tag}-{i}"},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"Open311 report {i}: HTTP {answer.status_code} {answer.text[:300]}")

    async def by_web(self, i: int) -> None:
        place = self._place(2 * i + 1)
        http, token = self.browsers.pop()
        try:
            answer = await http.post(
                "/public/snap",
                data={
                    "csrf_token": token,
                    "key": secrets.token_urlsafe(32),
                    "category": "street_vending",
                    "description": "人行道上有流动摊贩",
                    "lat": str(place.lat),
                    "lon": str(place.lon),
                },
                files={"photo": ("snap.jpg", self.photo, "image/jpeg")},
            )
        finally:
            self.browsers.append((http, token))
        if answer.status_code != 303 or "/public/follow/" not in answer.headers.get("location", ""):
            raise RuntimeError(f"web report {i}: HTTP {answer.status_code} {answer.text[:300]}")


async def run(pg: Any, n: int = 400, width: int = 16) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="rectify-bench-web-filing-") as scratch:
        async with TestStack(pg=pg, time_skipping=False) as stack:
            app = create_app(stack.client, evidence_dir=Path(scratch) / "evidence", rate=UNLIMITED, burst=10**9)
            app.state.web.filing_limit = FilingLimit(rate=UNLIMITED, burst=10**9)
            api_key, _ = await KeyStore(stack.store.pool).create("app_wechat", Role.REPORTER, "bench")
            async with serving_app(app, "127.0.0.1", free_port()) as url, Sides(stack, url, api_key, width) as sides:
                halves = [list(range(0, n, 2)), list(range(1, n, 2))]
                spent = {"open311": 0.0, "web": 0.0}
                turns = (("open311", 0), ("web", 0), ("web", 1), ("open311", 1))
                for who, half in turns:
                    job = sides.by_open311 if who == "open311" else sides.by_web
                    spent[who] += await concurrently(halves[half], width, job)
            stored = await stack.store.pool.fetchval("SELECT count(*) FROM cases")
    if stored != 2 * n:
        raise RuntimeError(f"{stored} of {2 * n} reports stored (one joined another, or one was lost)")
    rates = {who: n / seconds for who, seconds in spent.items()}
    return [
        row(
            "web.filing",
            "web",
            "filing through the web form (随手拍) vs Open311",
            size=n,
            size_unit="reports each way",
            size_text=f"{n:,} reports each way, {width} at a time",
            unit="reports/s",
            better="higher",
            value=rates["web"],
            baseline_name="Open311 POST requests.json on the same server",
            baseline=rates["open311"],
            target=Target(">=", 0.8, "≥ 0.8× Open311"),
            details={"rates": rates},
            note="the web's reports carry a photo (checked, EXIF read, kept); Open311's none",
        )
    ]
