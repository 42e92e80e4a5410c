"""`make demo`: ten cases through every path of the lifecycle on the embedded stack.

Starts PostgreSQL and the Temporal dev server in a scratch folder, runs a worker in-process, plays the
scenario through the client SDK exactly as a dispatch office would, prints the case table and one full
history, verifies the hash chains, and stops everything it started.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

from rectify import views
from rectify.city.sampling import point_in
from rectify.client import CommandRejected, RectifyClient
from rectify.devstack import EmbeddedStack
from rectify.domain.types import Actor, Channel, EvidenceRef, Point, Role

DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
CITIZEN = Actor(unit_id="citizen", role=Role.REPORTER)
VOLUNTEER = Actor(unit_id="volunteer_017", role=Role.REPORTER)
AUDITOR = Actor(unit_id="office_inspection", role=Role.AUDITOR)

#: (key, category, channel, description): what the ten reports say.
REPORTS = [
    ("demo-01", "street_vending", Channel.SNAPSHOT, "观音桥步行街口流动摊贩占道经营，影响通行"),
    ("demo-02", "disorderly_parking", Channel.VOLUNTEER, "斑马线上停放多辆电动车"),
    ("demo-03", "posters_graffiti", Channel.HOTLINE, "小区外墙张贴大量小广告（牛皮癣）"),
    ("demo-04", "litter_junk", Channel.INSPECTION, "背街小巷堆放建筑垃圾"),
    ("demo-05", "noise", Channel.HOTLINE, "夜间施工噪声扰民"),
    ("demo-06", "street_vending", Channel.SNAPSHOT, "早市摊点占用人行道"),
    ("demo-07", "accessibility", Channel.THIRD_PARTY, "盲道被占用（与第10号案件重复）"),
    ("demo-08", "public_facilities", Channel.LEADER_WALK, "公交站台座椅损坏"),
    ("demo-09", "garbage_sorting", Channel.VOLUNTEER, "垃圾分类投放点混投严重"),
    ("demo-10", "accessibility", Channel.THIRD_PARTY, "盲道被共享单车占用"),
]


def _category(client: RectifyClient, wanted: str) -> str:
    """Use the named category when the city has it, so the demo also runs on another city's data."""
    categories = client.city.policy.categories
    return wanted if wanted in categories else sorted(categories)[0]


def _photo(client: RectifyClient, evidence_dir: Path, label: str, at: Point) -> EvidenceRef:
    from rectify.store.evidence import EvidenceStore

    # A stand-in picture: real bytes, stored and addressed by hash like any uploaded photo.
    return EvidenceStore(evidence_dir).put(f"JPEG:{label}".encode(), "image/jpeg", at)


async def play(client: RectifyClient, console: Console, evidence_dir: Path) -> list[str]:
    """The scenario itself. Returns the case ids in report order."""
    city = client.city
    refs = []
    for i, (key, category, channel, text) in enumerate(REPORTS):
        reporter = VOLUNTEER if channel is Channel.VOLUNTEER else CITIZEN
        # Case 2 stands on 建新北路, so the road chief (路长制) leads it; the others are spread over the city.
        location = Point(lon=106.5600, lat=29.6025) if key == "demo-02" else point_in(city, index=i * 37)
        ref = await client.report(
            idempotency_key=key,
            category=_category(client, category),
            description=text,
            location=location,
            channel=channel,
            actor=reporter,
        )
        refs.append((ref, location))
        console.print(f"  reported {key} → {views.status_text(ref.status)} to [bold]{ref.lead_unit}[/bold]")

    def lead(n: int) -> Actor:
        return Actor(unit_id=refs[n - 1][0].lead_unit, role=Role.UNIT)

    def case(n: int) -> str:
        return refs[n - 1][0].case_id

    def photo(n: int, label: str) -> list[EvidenceRef]:
        return [_photo(client, evidence_dir, f"{n}:{label}", refs[n - 1][1])]

    async def step(text: str, action) -> None:
        result = await action
        console.print(f"  {text} → {views.status_text(result.state.status)}")

    # 1: the straight path.
    await step("#1 claim", client.claim(case(1), lead(1)))
    await step("#1 submit with photo", client.submit(case(1), lead(1), photo(1, "fixed"), "摊贩已劝离，恢复通行"))
    await step("#1 verify: pass", client.verify(case(1), INSPECTOR, True, "现场核查通过"))
    # 2: verification fails once (返工).
    await step("#2 claim", client.claim(case(2), lead(2)))
    await step("#2 submit", client.submit(case(2), lead(2), photo(2, "first"), "已清理"))
    await step("#2 verify: fail → rework", client.verify(case(2), INSPECTOR, False, "仍有车辆停放"))
    await step("#2 submit again", client.submit(case(2), lead(2), photo(2, "second"), "加装隔离桩"))
    await step("#2 verify: pass", client.verify(case(2), INSPECTOR, True, "整改到位"))
    # 3: the unit returns the dispatch (退单); the dispatcher reassigns it.
    other = next(u for u in sorted(city.policy.units) if u.startswith("dept_") and u != lead(3).unit_id)
    await step("#3 dispute (退单)", client.dispute(case(3), lead(3), "该墙面属物业管理区域"))
    await step(f"#3 reassign to {other}", client.reassign(case(3), DISPATCHER, other, "改派职能部门"))
    new_lead = Actor(unit_id=other, role=Role.UNIT)
    await step("#3 claim by the new unit", client.claim(case(3), new_lead))
    await step("#3 submit", client.submit(case(3), new_lead, photo(3, "fixed"), "已铲除"))
    await step("#3 verify: pass", client.verify(case(3), DISPATCHER, True))
    # 4: a dispute the dispatcher upholds.
    await step("#4 dispute", client.dispute(case(4), lead(4), "非本辖区"))
    await step("#4 uphold", client.uphold(case(4), DISPATCHER, "属地管理，维持派遣"))
    await step("#4 claim", client.claim(case(4), lead(4)))
    await step("#4 submit", client.submit(case(4), lead(4), photo(4, "fixed"), "垃圾已清运"))
    await step("#4 verify: pass", client.verify(case(4), INSPECTOR, True))
    # 5: not accepted (不予立案); 6: withdrawn by the reporter; 7: merged into 10, a duplicate.
    await step("#5 reject at intake", client.reject(case(5), DISPATCHER, "经核实为持证夜间施工"))
    await step("#6 withdraw", client.withdraw(case(6), CITIZEN, "摊点已自行离开"))
    await step("#7 merge into #10", client.merge(case(7), DISPATCHER, case(10)))
    # 8: closed, then reopened because the problem came back.
    await step("#8 claim", client.claim(case(8), lead(8)))
    await step("#8 submit", client.submit(case(8), lead(8), photo(8, "fixed"), "已更换座椅"))
    await step("#8 verify: pass", client.verify(case(8), INSPECTOR, True))
    await step("#8 reopen", client.reopen(case(8), CITIZEN, "座椅又坏了"))
    await step("#8 submit", client.submit(case(8), lead(8), photo(8, "again"), "更换为加固型座椅"))
    await step("#8 verify: pass", client.verify(case(8), INSPECTOR, True))
    # 9: a retried report finds its case; commands the rules refuse change nothing.
    again = await client.report(
        idempotency_key="demo-09",
        category=_category(client, "garbage_sorting"),
        description=REPORTS[8][3],
        location=refs[8][1],
        channel=Channel.VOLUNTEER,
        actor=VOLUNTEER,
    )
    console.print(f"  #9 the same report sent again → the same case: {again.case_id == case(9)}")
    for text, action in [
        ("#9 an auditor tries to claim", client.claim(case(9), AUDITOR)),
        ("#9 another unit tries to claim", client.claim(case(9), Actor(unit_id=other, role=Role.UNIT))),
        ("#9 verify before anything was submitted", client.verify(case(9), INSPECTOR, True)),
    ]:
        try:
            await action
        except CommandRejected as rejected:
            console.print(f"  {text} → [red]refused[/red] ({rejected.rule}): {rejected}")
    await step("#9 claim by the lead unit", client.claim(case(9), lead(9)))
    try:
        await client.report(
            idempotency_key="demo-outside",
            category=_category(client, "street_vending"),
            description="城外的举报",
            location=Point(lon=116.39, lat=39.91),
            channel=Channel.HOTLINE,
            actor=CITIZEN,
        )
    except CommandRejected as rejected:
        console.print(f"  a report from outside the district → [red]refused[/red] ({rejected.rule})")
    # 10 stays dispatched, waiting for its unit to claim it.
    return [case(n) for n in range(1, 11)]


async def run_demo(console: Console, data_dir: Path | None = None) -> None:
    started = time.monotonic()
    folder = data_dir or Path(tempfile.mkdtemp(prefix="rectify-demo-"))
    try:
        with console.status("starting PostgreSQL, the Temporal dev server and a worker …"):
            stack = EmbeddedStack(folder, fsync=False)  # fsync off: the walkthrough's folder is a scratch one
            await stack.__aenter__()
        views.shown_in(stack.city)
        try:
            console.print(
                f"[bold]Rectify demo[/bold] on {stack.city.policy.city}: Temporal {stack.temporal.address}, "
                f"PostgreSQL {stack.database_url}"
            )
            case_ids = await play(stack.client, console, folder / "evidence")
            rows = await stack.client.list(limit=50)
            views.print_case_table(console, rows, title="cases (read model)")
            views.print_history(console, await stack.client.history(case_ids[1]))
            problems = await stack.store.verify_chains()
            events = 0
            for case_id in case_ids:
                events += len(await stack.store.load(case_id))
            verdict = "[green]verified[/green]" if not problems else f"[red]{len(problems)} problems[/red]"
            console.print(f"hash chains of {len(case_ids)} cases ({events} events): {verdict}")
        finally:
            await stack.__aexit__(None, None, None)
    finally:
        if data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    console.print(f"demo finished in {time.monotonic() - started:.1f} s; every server it started is stopped.")
