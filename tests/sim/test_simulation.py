"""The simulation: both engines make the same decisions, and every figure comes from the stored events."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.city.sampling import point_in
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.escalation import next_due
from rectify.domain.events import Event
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR
from rectify.sim.behaviour import WAKES_AT_LEVEL, Behaviour, Planned
from rectify.sim.charts import ranking, write_summary
from rectify.sim.core import SimConfig, Simulation
from rectify.sim.direct import DirectEngine
from rectify.sim.intake import day_reports
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.sim.summary import summarize, summarize_store
from rectify.store import EventStore, migrate
from tests.support.given import LEAD, OTHER, POLICY, T0, claim, cmd, dispatcher, dispute, report, submit, verify
from tests.support.starts import configured_start, future_start, quiet_start

#: Ids name a recording (random in the workflow, derived in process); they decide nothing.
_IDS = {"event_id", "causation_id", "correlation_id"}
#: How far the real engine may record a step from its simulated moment (it runs a few milliseconds after it).
#: Simulated moments lie 5-55 s past a whole minute and the calendar's periods turn on whole minutes, so
#: below 5 s no moment crosses a boundary, and both engines take the same decisions.
_RECORDING_SLACK = timedelta(seconds=5)
#: Fields computed from the moments of recording: they are compared exactly, at the real engine's moments.
_FROM_MOMENTS = {"occurred_at", "due_at", "explanation_due_at", "missed", "working_hours", "paused_hours"}


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


def config(seed: int, days: int, per_day: int, start: date) -> SimConfig:
    return SimConfig(seed=seed, days=days, reports_per_day=per_day, start=start)


async def run(city: City, cfg: SimConfig, engine: EngineName, database_url: str, out: Path) -> dict:
    options = SimOptions(config=cfg, engine=engine, out_dir=out, data_dir=out, database_url=database_url, charts=False)
    return await simulate(city, options, Console(quiet=True))


class AtRecordedMoments(DirectEngine):
    """The in-process engine, deciding each step at the moment the workflow recorded it in another run.

    `moments` maps (stream, first version a step wrote) to that step's `occurred_at` in the workflow's
    run; a step the workflow did not record is decided at its simulated moment, as usual.
    """

    def __init__(self, store: EventStore, city: City, out: Path, moments: dict[tuple[str, int], datetime]) -> None:
        super().__init__(store, city, out)
        self.moments = moments

    def _moment(self, state: object, command: object, at: datetime) -> datetime:
        version = (state.version if state else 0) + 1
        return self.moments.get((command.case_id, version), at)

    async def _decide_case(self, state: object, command: object, at: datetime) -> object:
        return await super()._decide_case(state, command, self._moment(state, command, at))

    async def _decide_proceeding(self, state: object, command: object, at: datetime) -> object:
        return await super()._decide_proceeding(state, command, self._moment(state, command, at))


async def run_at_moments(city: City, cfg: SimConfig, database_url: str, out: Path, recorded: dict) -> None:
    moments = {
        (stream, e["version"]): datetime.fromisoformat(e["occurred_at"])
        for stream, events in recorded.items()
        for e in events
    }
    store = await EventStore.connect(database_url)
    try:
        await migrate(store.pool)
        await Simulation(city, cfg, AtRecordedMoments(store, city, out, moments)).run()
    finally:
        await store.close()


async def streams(database_url: str, until: datetime) -> dict[str, list[dict]]:
    """Each stream's events up to the end of the run (the real engine's clock runs on while it stops)."""
    store = await EventStore.connect(database_url)
    try:
        return {
            case_id: [
                r.body
                for r in await store.load_records(case_id)
                if datetime.fromisoformat(r.body["occurred_at"]) < until
            ]
            for case_id in await store.case_ids()
        }
    finally:
        await store.close()


def differences(a: list[dict], b: list[dict], *, ignore: set[str]) -> list[str]:
    """Where two streams differ, field by field, in anything but `ignore`."""
    if [e["type"] for e in a] != [e["type"] for e in b]:
        return [f"{[e['type'] for e in a]} != {[e['type'] for e in b]}"]
    return [
        f"{x['type']} v{x['version']} {key}: {x.get(key)!r} != {y.get(key)!r}"
        for x, y in zip(a, b, strict=True)
        for key in sorted((set(x) | set(y)) - ignore)
        if x.get(key) != y.get(key)
    ]


def late_recordings(a: list[dict], b: list[dict]) -> list[str]:
    """Events whose moments of recording lie further apart than the real engine's few milliseconds."""
    return [
        f"{x['type']} v{x['version']} occurred_at: {x['occurred_at']} vs {y['occurred_at']}"
        for x, y in zip(a, b, strict=True)
        if abs(datetime.fromisoformat(x["occurred_at"]) - datetime.fromisoformat(y["occurred_at"])) >= _RECORDING_SLACK
    ]


async def equivalent_runs(city: City, cfg: SimConfig, pg: object, tmp_path: Path) -> dict[str, dict[str, list[dict]]]:
    """Play `cfg` through the workflow, in process, and in process at the workflow's moments; check they agree.

    - In process and through the workflow: the same streams, events and fields, the moments of recording
      within a few milliseconds, and the same summary. Fields computed from moments are left to the next check.
    - In process at the workflow's moments: every field of every event exactly as the workflow recorded it,
      deadlines and due moments included. (Comparing them with the plain run instead would need the
      calendar: a deadline set at night is the same moment in both runs, one set in working hours moves
      with its command, and a resumed one moves with both the suspension and the resumption.)
    """
    runs, name = {}, tmp_path.name[-8:]
    for engine in (EngineName.TEMPORAL, EngineName.DIRECT):
        url = await pg.create_database(f"sim_{engine.value}_{name}")
        await run(city, cfg, engine, url, tmp_path / engine.value)
        runs[engine.value] = await streams(url, cfg.end_at(city))
    url = await pg.create_database(f"sim_moments_{name}")
    await run_at_moments(city, cfg, url, tmp_path / "moments", runs["temporal"])
    runs["moments"] = await streams(url, cfg.end_at(city))
    direct, temporal, moments = runs["direct"], runs["temporal"], runs["moments"]
    assert set(direct) == set(temporal) == set(moments)  # case ids derive from the report keys
    problems = []
    for stream in sorted(direct):
        found = differences(direct[stream], temporal[stream], ignore=_IDS | _FROM_MOMENTS)
        found += differences(moments[stream], temporal[stream], ignore=_IDS)
        found = found or late_recordings(direct[stream], temporal[stream])
        problems += [f"{stream}: {d}" for d in found]
    assert problems == []
    summaries = [json.loads((tmp_path / e.value / "summary.json").read_text()) for e in EngineName]
    for s in summaries:
        s["simulation"].pop("engine")
        s.pop("checkpoint")  # a root over heads whose hashes cover the (differing) ids
    assert summaries[0] == summaries[1]
    return runs


async def test_one_seed_gives_the_same_events_through_the_workflow_and_in_process(
    city: City, pg: object, tmp_path: Path
) -> None:
    calendar = city.policy.calendar
    # Long enough for a case to climb to 问责 and open a proceeding, which needs no holiday in the way.
    start = future_start(calendar, quiet_start(calendar, configured_start(calendar), days=12))
    runs = await equivalent_runs(city, config(seed=5, days=12, per_day=15, start=start), pg, tmp_path)
    direct = runs["direct"]
    assert len(direct) > 30
    assert any(stream.startswith("acc-") for stream in direct)  # an accountability proceeding, in both
    assert sum(len(events) for events in direct.values()) > 200


def city_with_days_off(city: City, folder: Path, holidays: list[date], makeup: list[date]) -> City:
    """A copy of the city whose calendar also has these holidays and make-up working days (调休), its years known."""
    shutil.copytree(city.source_dir, folder)
    path = folder / "calendar.toml"
    years = sorted(city.policy.calendar.known_years | {d.year for d in holidays + makeup})
    text = re.sub(r"^known_years = \[.*\]$", f"known_years = {years}", path.read_text("utf-8"), count=1, flags=re.M)
    text = text.replace("makeup_workdays = [", "makeup_workdays = [" + "".join(f"\n    {d}," for d in makeup), 1)
    text += "".join(f'\n[[holiday]]\nname = "测试假日"\nfrom = {d}\nto = {d}\n' for d in holidays)
    path.write_text(text, "utf-8")
    changed = load_city(folder)
    assert set(holidays) <= changed.policy.calendar.holidays and set(makeup) <= changed.policy.calendar.makeup_workdays
    return changed


async def test_both_engines_agree_across_a_holiday_and_a_make_up_working_day(
    city: City, pg: object, tmp_path: Path
) -> None:
    """No holiday of a known year lies ahead (2027's schedule is not out), so the test gives the calendar some."""
    calendar = city.policy.calendar
    start = future_start(calendar, quiet_start(calendar, configured_start(calendar), days=8))
    holidays = [start + timedelta(days=n) for n in (2, 3, 4)]  # Wednesday to Friday off ...
    makeup = [start + timedelta(days=5)]  # ... and Saturday worked instead
    changed = city_with_days_off(city, tmp_path / "city", holidays, makeup)
    runs = await equivalent_runs(changed, config(seed=11, days=8, per_day=15, start=start), pg, tmp_path)
    zone = calendar.zone
    by_units = [
        (datetime.fromisoformat(e["occurred_at"]).astimezone(zone).date(), e["type"])
        for events in runs["temporal"].values()
        for e in events
        if e["actor"]["role"] == "unit"
    ]
    assert any(day in makeup for day, _ in by_units)  # units work on the make-up Saturday
    assert not any(day in holidays for day, kind in by_units if kind == "case_claimed")  # and claim nothing on holidays


async def test_both_engines_attach_the_same_repeat_reports_to_the_same_open_cases(
    city: City, pg: object, tmp_path: Path
) -> None:
    """The duplicate rule on the simulation's intake: the real engine asks it through the SDK, the direct engine
    in process, both with the store's candidates. The widest radius the loader allows makes repeats common."""
    shutil.copytree(city.source_dir, tmp_path / "city")
    path = tmp_path / "city" / "categories.toml"
    text = re.sub(r"^duplicate_radius_m = .*$", "duplicate_radius_m = 5000", path.read_text("utf-8"), flags=re.M)
    path.write_text(text, "utf-8")
    wide = load_city(tmp_path / "city")
    calendar = city.policy.calendar
    start = future_start(calendar, quiet_start(calendar, configured_start(calendar), days=3))
    cfg = config(seed=7, days=3, per_day=20, start=start)
    runs = await equivalent_runs(wide, cfg, pg, tmp_path)
    direct = runs["direct"]
    attached = [e for events in direct.values() for e in events if e["type"] == "duplicate_attached"]
    reported = [e for events in direct.values() for e in events if e["type"] == "case_reported"]
    filed = sum(len(day_reports(wide, 7, start + timedelta(days=d), 20, d)) for d in range(3))
    assert len(attached) >= 5 and len(reported) + len(attached) == filed
    assert all(e["distance_m"] <= 5000 for e in attached)


async def test_summary_json_is_recomputed_exactly_from_the_stored_events(
    city: City, fresh_database_url: str, tmp_path: Path
) -> None:
    calendar = city.policy.calendar
    start = quiet_start(calendar, configured_start(calendar), days=5)  # closures and rungs need working days
    summary = await run(
        city, config(seed=3, days=5, per_day=60, start=start), EngineName.DIRECT, fresh_database_url, tmp_path
    )
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
        cfg = config(seed=seed, days=2, per_day=40, start=configured_start(city.policy.calendar))
        summary = await run(city, cfg, EngineName.DIRECT, url, tmp_path / str(n))
        results.append({k: summary[k] for k in ("totals", "units", "daily")})
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_a_day_of_reports_follows_from_its_index_in_the_run_not_from_its_date(city: City) -> None:
    first = configured_start(city.policy.calendar)
    later = first + timedelta(days=1000)

    def seen(day: date, index: int) -> list[tuple]:
        return [
            (r.key, r.at.timetz(), r.category, r.description, r.location, r.channel, r.actor)
            for r in day_reports(city, 5, day, 40, index)
        ]

    assert seen(first, 3) == seen(later, 3)
    assert all(r.at.date() == later for r in day_reports(city, 5, later, 40, 3))
    assert seen(first, 3) != seen(first, 4)


def relative(event: dict, start: datetime) -> dict:
    """The event with every moment given as the time since the run's start."""

    def since(value: str) -> timedelta:
        return datetime.fromisoformat(value) - start

    moved = {k: since(v) for k, v in event.items() if k in {"occurred_at", "due_at", "explanation_due_at"}}
    if "missed" in event:
        moved["missed"] = [m | {"due_at": since(m["due_at"])} for m in event["missed"]]
    return event | moved


async def test_the_same_seed_gives_the_same_city_on_another_start_with_the_same_calendar(
    city: City, pg: object, tmp_path: Path
) -> None:
    calendar = city.policy.calendar
    first = quiet_start(calendar, configured_start(calendar), days=7)
    starts = (first, quiet_start(calendar, first + timedelta(days=1), days=7))
    summaries, runs = [], []
    for n, start in enumerate(starts):
        cfg = config(seed=7, days=7, per_day=40, start=start)
        url = await pg.create_database(f"shift_{n}_{tmp_path.name[-8:]}")
        summaries.append(await run(city, cfg, EngineName.DIRECT, url, tmp_path / str(n)))
        runs.append(
            {
                s: [relative(e, cfg.start_at(city)) for e in events]
                for s, events in (await streams(url, cfg.end_at(city))).items()
            }
        )
    assert len(runs[0]) > 200 and set(runs[0]) == set(runs[1])
    # Whether the calendar knows a year's holidays is the calendar's (one run may reach into an unknown year).
    problems = [f"{s}: {d}" for s in sorted(runs[0]) for d in differences(runs[0][s], runs[1][s], ignore={"estimated"})]
    assert problems == []
    first_figures, second_figures = ({k: s[k] for k in ("totals", "units")} for s in summaries)
    assert first_figures == second_figures


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


def test_a_step_due_just_before_a_deadline_moves_past_it_keeping_its_seconds(city: City) -> None:
    behaviour = Behaviour(city.policy, seed=1)
    routed = city.router.route("street_vending", point_in(city, index=3))
    state = fold(decide(None, report("clear", routing=routed), T0 + timedelta(seconds=30), city.policy))
    due = next_due(state, city.policy)  # 30 s past a minute, like every simulated moment
    for before in (timedelta(seconds=1), timedelta(seconds=4)):
        step = Planned(due - before, cmd(c.ClaimCase, claim().actor, case_id=state.case_id))
        moved = behaviour.after_tick(state, T0, step)
        assert moved.at >= due + timedelta(seconds=5) and moved.at - due < timedelta(minutes=2)
        assert moved.at.second == step.at.second and 5 <= moved.at.second <= 55 and moved.at.microsecond == 0
    early = Planned(due - timedelta(minutes=3), step.command)
    assert behaviour.after_tick(state, T0, early) is early


def test_the_report_is_written_the_same_twice_and_names_the_units(tmp_path: Path) -> None:
    summary = summarize(history((report("r"), T0), (claim_for("r"), T0 + timedelta(minutes=5))), POLICY) | {
        "simulation": {
            "seed": 1,
            "days": 1,
            "reports_per_day": 1,
            "start": "2026-11-24",
            "engine": "direct",
            "city": "测试区",
            "policy_version": "t1",
            "refused_steps": {},
        }
    }
    first = write_summary(summary, tmp_path / "a")
    second = write_summary(summary, tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    html = (tmp_path / "a" / "summary.html").read_text(encoding="utf-8")
    assert "甲街道" in html and "unit_ranking.png" in html
    assert [uid for _, uid, _ in ranking(summary)] == [LEAD]


async def _case_ids(database_url: str) -> list[str]:
    store = await EventStore.connect(database_url)
    try:
        return await store.case_ids()
    finally:
        await store.close()
