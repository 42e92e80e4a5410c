"""Where the simulated reports come from: the channels, spread over the day, seeded.

A day's reports are a pure function of (seed, day index, rate, city): the same seed always files the same
reports at the same moments of the same day of the run, whichever engine plays them and whichever date the
run starts on (the calendar date only places them; it never feeds the random draws).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from rectify.city import City
from rectify.city.sampling import inside_points
from rectify.domain.inspection import ChecklistItem, InspectionPoint, failure_description, failure_key
from rectify.domain.inspection_events import ItemResult
from rectify.domain.types import Actor, Channel, EvidenceRef, Point, Role

#: Every simulated report's key starts so: how a folder of simulated data is told apart from real cases.
SIM_KEY_PREFIX = "sim-"
#: Share of reports per channel (随手拍, hotline, volunteer supervisors, inspections, third-party evaluation).
CHANNEL_WEIGHTS: dict[Channel, float] = {
    Channel.SNAPSHOT: 0.38,
    Channel.HOTLINE: 0.25,
    Channel.VOLUNTEER: 0.14,
    Channel.INSPECTION: 0.12,
    Channel.THIRD_PARTY: 0.08,
    Channel.LEADER_WALK: 0.03,
}
#: Relative intake per hour of the day (Asia/Shanghai): quiet nights, a morning and an evening peak.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 8, 8, 10, 11, 11, 10, 8, 6, 5, 3, 2, 1)
#: Inspections and third-party evaluators work office hours only.
OFFICE_HOURS = range(9, 18)

#: What a report says, per category (data, so in Chinese); the category name stands in when missing.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "street_vending": ("流动摊贩占道经营", "早市摊点占用人行道", "店外经营堵塞通道"),
    "disorderly_parking": ("斑马线上停放多辆电动车", "机动车占用盲道停放", "共享单车乱停乱放"),
    "posters_graffiti": ("外墙张贴小广告", "电杆上乱涂乱贴", "楼道牛皮癣"),
    "illegal_structures": ("屋顶违章搭建", "沿街私搭雨棚"),
    "litter_junk": ("背街小巷堆放建筑垃圾", "绿化带内白色垃圾"),
    "garbage_sorting": ("垃圾分类投放点混投", "垃圾桶满溢未清运"),
    "accessibility": ("盲道被占用", "无障碍坡道破损"),
    "public_facilities": ("公交站台座椅损坏", "路灯不亮", "井盖缺失"),
    "noise": ("夜间施工噪声扰民", "商铺高音喇叭揽客"),
}


@dataclass(frozen=True)
class PlannedReport:
    """One report the simulation will file: when, what, where, through which channel, by whom."""

    key: str
    at: datetime
    category: str
    description: str
    location: Point
    channel: Channel
    actor: Actor
    evidence: tuple[EvidenceRef, ...] = ()
    #: The inspection point a round found the problem on (its case goes to the point's units, carrying its id).
    point: InspectionPoint | None = None


def failure_report(
    point: InspectionPoint, item: ChecklistItem, result: ItemResult, round_id: str, inspector_unit: str, at: datetime
) -> PlannedReport:
    """A failed checklist item as the round activities file it through the intake (client/rounds.py)."""
    return PlannedReport(
        key=failure_key(round_id, point.point_id, item.code),
        at=at,
        category=item.case_category,
        description=failure_description(point, item, result.note),
        location=point.location,
        channel=Channel.INSPECTION,
        actor=Actor(unit_id=inspector_unit, role=Role.INSPECTOR),
        evidence=result.evidence,
        point=point,
    )


def reporter_for(channel: Channel, rng: random.Random) -> Actor:
    if channel is Channel.INSPECTION:
        return Actor(unit_id="office_inspection", role=Role.INSPECTOR)
    if channel is Channel.VOLUNTEER:
        return Actor(unit_id=f"volunteer_{rng.randrange(1, 400):03d}", role=Role.REPORTER)
    if channel is Channel.THIRD_PARTY:
        return Actor(unit_id="evaluator_third_party", role=Role.REPORTER)
    if channel is Channel.LEADER_WALK:
        return Actor(unit_id="office_chuangwen", role=Role.DISPATCHER)
    return Actor(unit_id="citizen", role=Role.REPORTER)


def day_reports(city: City, seed: int, day: date, per_day: int, day_index: int) -> list[PlannedReport]:
    """The reports filed on `day`, in time order. Times fall on whole minutes plus 5-55 s.

    The seconds keep every later deadline off the exact boundary of a working period, where a few
    milliseconds of difference between engines would move a due moment across a lunch break.
    """
    rng = random.Random(f"{seed}/intake/{day_index}")
    zone = city.policy.calendar.zone
    categories = sorted(city.policy.categories)
    points = inside_points(city)
    channels, channel_weights = zip(*CHANNEL_WEIGHTS.items(), strict=True)
    # Poisson-like daily variation around the rate, still exactly reproducible.
    count = max(0, round(rng.gauss(per_day, per_day**0.5 / 2)))
    reports: list[PlannedReport] = []
    for _ in range(count):
        channel = rng.choices(channels, channel_weights)[0]
        hours = OFFICE_HOURS if channel in (Channel.INSPECTION, Channel.THIRD_PARTY) else range(24)
        hour = rng.choices(list(hours), [HOUR_WEIGHTS[h] for h in hours])[0]
        moment = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(5, 56)), zone)
        category = rng.choice(categories)
        name = city.policy.categories[category].name
        reports.append(
            PlannedReport(
                key="",
                at=moment,
                category=category,
                description=rng.choice(DESCRIPTIONS.get(category, (name,))),
                location=rng.choice(points),
                channel=channel,
                actor=reporter_for(channel, rng),
            )
        )
    reports.sort(key=lambda r: r.at)
    keyed = [replace(r, key=f"{SIM_KEY_PREFIX}{seed}-d{day_index:03d}-{n:05d}") for n, r in enumerate(reports)]
    return keyed


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]
