"""The office map's case markers as compact JSON: small enough for a district's every open case.

Only open cases are sent (a closed case needs nobody). Each is four numbers' worth: the case's short number
(the first 8 characters of its id, as pages show it), its place on a 1e-5 degree grid (about a metre) counted
from the district's south-west corner, and one code for its status and rung. The places are sorted west to
east and the eastings sent as differences, so most are one or two digits; the short numbers are one string.
Clicking a marker asks the server for the case by short number and place (`/command/pick`), so no full id is
sent. 100,000 open cases come to about 1.8 MB, 0.8 MB gzipped (tests/web/test_office_map_data.py).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from rectify.domain.policy import Policy
from rectify.store.office_queue import MapPoint
from rectify.store.projections import CaseRow
from rectify.web.labels import STATUS, STATUS_ORDER, rung

STEP = 1e-5
SHORT = 8
#: A marker's code is status index × RUNGS + rung.
RUNGS = 10


def origin(bounds: Sequence[float]) -> tuple[float, float]:
    """The district's south-west corner, on the grid."""
    return round(bounds[0], 5), round(bounds[1], 5)


def _code(status: str, level: int) -> int:
    index = STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)
    return index * RUNGS + min(max(level, 0), RUNGS - 1)


def _grid(value: float, zero: float) -> int:
    return round((value - zero) / STEP)


def legend(policy: Policy) -> dict[str, Any]:
    """What the page needs to colour and name markers: the status codes in order and the rungs' names."""
    return {
        "statuses": list(STATUS_ORDER),
        "status_names": [STATUS[s] for s in STATUS_ORDER],
        "rungs": RUNGS,
        "rung_names": {str(r.level): rung(policy, r.level) for r in policy.ladder},
    }


def encode(points: Iterable[MapPoint], zero: tuple[float, float]) -> dict[str, Any]:
    """The markers of `points` (already sorted west to east, as the store gives them)."""
    ids, xs, ys, codes = [], [], [], []
    last = 0
    for p in points:
        x = _grid(p.lon, zero[0])
        ids.append(p.case_id[:SHORT])
        xs.append(x - last)
        ys.append(_grid(p.lat, zero[1]))
        codes.append(_code(p.status, p.escalation_level))
        last = x
    return {"origin": list(zero), "step": STEP, "count": len(ids), "ids": "".join(ids), "dx": xs, "y": ys, "k": codes}


def marker(row: CaseRow, zero: tuple[float, float]) -> list[Any] | None:
    """One case as a live update sends it ([short, x, y, code]), or None when it has no place."""
    if row.lon is None or row.lat is None:
        return None
    x, y = _grid(row.lon, zero[0]), _grid(row.lat, zero[1])
    return [row.case_id[:SHORT], x, y, _code(row.status, row.escalation_level)]


def dumps(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; orjson, since the arrays hold a number per open case."""
    return orjson.dumps(payload)


def compressed(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)
