"""The office map's marker data: it decodes back to every open case, and stays small for a city's worth."""

from __future__ import annotations

import json
import random
import uuid

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.store.office_queue import MapPoint
from rectify.web import map_data

CITY = load_city(DEFAULT_CITY_DIR)
BOUNDS = CITY.router.bounds
OPEN = ("reported", "dispatched", "claimed", "submitted", "disputed", "suspended")


def points(n: int, seed: int = 7) -> list[MapPoint]:
    rnd = random.Random(seed)
    made = [
        MapPoint(
            str(uuid.UUID(int=rnd.getrandbits(128))),
            round(rnd.uniform(BOUNDS[0], BOUNDS[2]), 6),
            round(rnd.uniform(BOUNDS[1], BOUNDS[3]), 6),
            rnd.choice(OPEN),
            rnd.choice((0, 0, 0, 1, 2, 3, 4)),
        )
        for _ in range(n)
    ]
    return sorted(made, key=lambda p: (p.lon, p.lat, p.case_id))  # as the store gives them


def decode(payload: dict) -> list[tuple[str, float, float, str, int]]:
    """What office.js does with the payload."""
    legend, (lon0, lat0), step = payload["legend"], payload["origin"], payload["step"]
    out, x = [], 0
    for i in range(payload["count"]):
        x += payload["dx"][i]
        code = payload["k"][i]
        status = legend["statuses"][code // legend["rungs"]]
        out.append(
            (payload["ids"][i * 8 : i * 8 + 8], lon0 + x * step, lat0 + payload["y"][i] * step, status, code % 10)
        )
    return out


def test_the_payload_decodes_to_every_case_within_a_metre() -> None:
    given = points(500)
    payload = json.loads(map_data.dumps(map_data.encode(given, map_data.origin(BOUNDS))))
    payload["legend"] = map_data.legend(CITY.policy)
    got = decode(payload)
    assert len(got) == len(given)
    for p, (short, lon, lat, status, rung) in zip(given, got, strict=True):
        assert short == p.case_id[:8]
        assert abs(lon - p.lon) <= 0.6e-5 and abs(lat - p.lat) <= 0.6e-5
        assert (status, rung) == (p.status, p.escalation_level)
    assert payload["legend"]["rung_names"]["2"] == "第2级 曝光"


def test_a_live_marker_is_coded_as_the_payload_codes_it() -> None:
    from rectify.store.projections import CaseRow

    p = points(1)[0]
    payload = map_data.encode([p], map_data.origin(BOUNDS))
    row = CaseRow.model_construct(
        case_id=p.case_id, lon=p.lon, lat=p.lat, status=p.status, escalation_level=p.escalation_level
    )
    assert map_data.marker(row, map_data.origin(BOUNDS)) == [
        p.case_id[:8],
        payload["dx"][0],
        payload["y"][0],
        payload["k"][0],
    ]


def test_a_hundred_thousand_open_cases_cross_the_wire_in_under_a_megabyte() -> None:
    """Only open cases are sent at all; even if all of 100,000 were open, the gzipped answer is under 1 MB, and
    up to 50,000 open cases are under 1 MB before compression."""
    many = points(100_000)
    body = map_data.dumps(map_data.encode(many, map_data.origin(BOUNDS)))
    assert len(map_data.compressed(body)) < 1_000_000
    half = map_data.dumps(map_data.encode(many[::2], map_data.origin(BOUNDS)))
    assert len(half) < 1_000_000
