"""The simulation: both engines make the same decisions, and every figure comes from the stored events."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.city.sampling import point_in
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.events import Event
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR
from rectify.sim.behaviour import WAKES_AT_LEVEL, Behaviour
from rectify.sim.core import SimConfig
from rectify.sim.report import ranking, write_report
from rectify.sim.run import EngineName, SimOptions, next_monday, simulate
from rectify.sim.summary import summarize, summarize_store
from rectify.store import EventStore
from tests.given import LEAD, OTHER, POLICY, T0, claim, cmd, dispatcher, dispute, report, submit, verify

#: Fields that name or time a recording rather than decide anything: ids and the moments of recording.
_IDS = {"event_id", "causation_id", "correlation_id"}
_SLACK = timedelta(seconds=5)  # the real engine runs a step a few milliseconds after its simulated moment


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


def config(seed: int, days: int, per_day: int) -> SimConfig:
    return SimConfig(seed=seed, days=days, reports_per_day=per_day, start=next_monday(date.today()))


async def run(city: City, cfg: SimConfig, engine: EngineName, database_url: str, out: Path) -> dict:
    options = SimOptions(config=cfg, engine=engine, out_dir=out, data_dir=out, database_url=database_url, charts=False)
    return await simulate(city, options, Console(quiet=True))


async def streams(database_url: str, until: datetime) -> dict[str, list[dict]]:
    """Each stream's events up to the end of the run (the real engine's clock runs on while it stops)."""
    store = await EventStore.connect(database_url)
    try:
        return {
            case_id: [r.body for r in await store.load_records(case_id)
                      if datetime.fromisoformat(r.body["occurred_at"]) < until]
            for case_id in await store.case_ids()
        }  # fmt: skip
    finally:
        await store.close()


def differences(a: dict, b: dict) -> list[str]:
    """Where two events differ in anything but ids and a few milliseconds of recording time."""
    found = []
    for key in sorted((set(a) | set(b)) - _IDS):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if key.endswith("_at") and x and y and abs(datetime.fromisoformat(x) - datetime.fromisoformat(y)) < _SLACK:
            continue
        if isinstance(x, float) and isinstance(y, float) and abs(x - y) < 0.01:
            continue
        found.append(f"{a.get('type')} v{a.get('version')} {key}: {x!r} != {y!r}")
    return found


async def test_one_seed_gives_the_same_events_through_the_workflow_and_in_process(
    city: City, pg: object, tmp_path: Path
) -> None:
    cfg = config(seed=5, days=12, per_day=15)  # long enough for a case to climb to 问责 and open a proceeding
    urls = {}
    for engine in EngineName:
        urls[engine] = await pg.create_database(f"sim_{engine.value}_{tmp_path.name[-8:]}")
        await run(city, cfg, engine, urls[engine], tmp_path / engine.value)
    end = cfg.end_at(city)
    direct, temporal = await streams(urls[EngineName.DIRECT], end), await streams(urls[EngineName.TEMPORAL], end)
    assert len(direct) > 30 and set(direct) == set(temporal)  # case ids derive from the report keys
    assert any(stream.startswith("acc-") for stream in direct)  # an accountability proceeding, in both
    assert sum(len(events) for events in direct.values()) > 200
    problems = []
    for case_id, events in direct.items():
        other = temporal[case_id]
        if [e["type"] for e in events] != [e["type"] for e in other]:
            problems.append(f"{case_id}: {[e['type'] for e in events]} != {[e['type'] for e in other]}")
            continue
        for a, b in zip(events, other, strict=True):
            problems += [f"{case_id}: {d}" for d in differences(a, b)]
    assert problems == []
    summaries = [json.loads((tmp_path / e.value / "summary.json").read_text()) for e in EngineName]
    for s in summaries:
        s["simulation"].pop("engine")
        s.pop("checkpoint")  # a root over heads whose hashes cover the (differing) ids
    assert summaries[0] == summaries[1]


async def test_summary_json_is_recomputed_exactly_from_the_stored_events(
    city: City, fresh_database_url: str, tmp_path: Path
) -> None:
    summary = await run(city, config(seed=3, days=5, per_day=60), EngineName.DIRECT, fresh_database_url, tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    store = await EventStore.connect(fresh_database_url)
    try:
        recomputed = await summarize_store(store, city.policy)
        assert await store.verify_chains() == []
        assert (await store.diff_read_models()).clean
    finally:
        await store.close()
    assert written == json.loads(json.dumps(summary, ensure_ascii=False))
    assert written["checkpoint"]["cases"] == len(await _case_ids(fresh_database_url))
    assert {k: written[k] for k in ("totals", "units", "daily", "weeks")} == json.loads(json.dumps(recomputed))
    totals = written["totals"]
    assert totals["reported"] > 200 and totals["closed"] > 50 and totals["escalations"]["催办"] > 0
    assert totals["received"] == sum(u["received"] for u in written["units"].values())


async def test_the_same_seed_gives_the_same_numbers_and_another_seed_does_not(
    city: City, pg: object, tmp_path: Path
) -> None:
    results = []
    for n, seed in enumerate((5, 5, 6)):
        url = await pg.create_database(f"seed_{n}_{tmp_path.name[-8:]}")
        summary = await run(city, config(seed=seed, days=2, per_day=40), EngineName.DIRECT, url, tmp_path / str(n))
        results.append({k: summary[k] for k in ("totals", "units", "daily")})
    assert results[0] == results[1]
    assert results[0] != results[2]


def history(*steps: tuple[c.Command, datetime]) -> list[Event]:
    state, events = None, []
    for command, at in steps:
        new = decide(state, command, at, POLICY)
        events += new
        state = fold(new, state)
    return events


def tick(case_id: str) -> c.Command:
    return cmd(c.Tick, SYSTEM_ACTOR, case_id=case_id)


def test_summary_counts_a_hand_worked_day() -> None:
    m = timedelta(minutes=1)
    on_time = history(
        (report("a"), T0), (claim_for("a"), T0 + 10 * m), (submit_for("a"), T0 + 20 * m), (verify_for("a"), T0 + 30 * m)
    )
    late = history(
        (report("b"), T0),
        (claim_for("b"), T0 + 10 * m),
        (tick(case("b")), T0 + 390 * m),  # 16:00: the 11:30 deadline is missed, rung 1 催办 reached
        (submit_for("b"), T0 + 400 * m),
        (verify_for("b"), T0 + 410 * m),
    )
    disputed = history(
        (report("c"), T0),
        (cmd(c.DisputeCase, dispute().actor, case_id=case("c"), reason="不属于本单位"), T0 + 5 * m),
        (cmd(c.ReassignCase, dispatcher(), case_id=case("c"), to_unit=OTHER, reason="改派"), T0 + 15 * m),
        (tick(case("c")), T0 + timedelta(days=1)),  # next morning: OTHER never claimed
    )
    s = summarize(on_time + late + disputed, POLICY)
    lead, other = s["units"][LEAD], s["units"][OTHER]
    assert (lead["received"], lead["closed"], lead["closed_on_time"], lead["disputed"]) == (3, 2, 1, 1)
    assert lead["escalations"]["催办"] == 1 and lead["on_time_rate"] == 0.5
    assert (other["received"], other["claims_late"], other["closed"], other["on_time_rate"]) == (1, 1, 0, None)
    assert [(d["date"], d["reported"], d["closed"], d["open_at_end"]) for d in s["daily"]] == [
        ("2026-11-24", 3, 2, 1),
        ("2026-11-25", 0, 0, 1),
    ]
    assert s["totals"]["received"] == 4 and s["totals"]["open_at_end"] == 1


def case(key: str) -> str:
    return report(key).case_id


def claim_for(key: str) -> c.Command:
    return cmd(c.ClaimCase, claim().actor, case_id=case(key))


def submit_for(key: str) -> c.Command:
    template = submit()
    return cmd(c.SubmitRectification, template.actor, case_id=case(key), evidence=template.evidence, note="已整改")


def verify_for(key: str) -> c.Command:
    return cmd(c.VerifyCase, verify(True).actor, case_id=case(key), passed=True, note="核查")


def test_a_silent_unit_waits_for_exposure_and_then_acts(city: City) -> None:
    behaviour = Behaviour(city.policy, seed=1)
    behaviour.profiles = {u: replace(p, silent=1.0, dispute=0.0) for u, p in behaviour.profiles.items()}
    routed = city.router.route("street_vending", point_in(city, index=3))
    state = fold(decide(None, report("silent", routing=routed), T0, city.policy))
    quiet = behaviour.plan(state, T0)
    assert quiet is None or isinstance(quiet.command, c.RejectCase)  # 2% of reports are not accepted at all
    woken = behaviour.plan(state.model_copy(update={"escalation_level": WAKES_AT_LEVEL}), T0)
    assert woken is not None and woken.at > T0
    assert isinstance(woken.command, c.ClaimCase | c.RejectCase)


def test_the_report_is_written_the_same_twice_and_names_the_units(tmp_path: Path) -> None:
    summary = summarize(
        history((report("r"), T0), (claim_for("r"), T0 + timedelta(minutes=5))), POLICY
    ) | {"simulation": {"seed": 1, "days": 1, "reports_per_day": 1, "start": "2026-11-24", "engine": "direct",
                        "city": "测试区", "policy_version": "t1", "refused_steps": {}}}  # fmt: skip
    first = write_report(summary, tmp_path / "a")
    second = write_report(summary, tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "甲街道" in html and "unit_ranking.png" in html
    assert [uid for _, uid, _ in ranking(summary)] == [LEAD]


async def _case_ids(database_url: str) -> list[str]:
    store = await EventStore.connect(database_url)
    try:
        return await store.case_ids()
    finally:
        await store.close()
