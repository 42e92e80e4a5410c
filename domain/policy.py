"""The rules a city runs on, as data: categories and their limits, the units, the windows.

A case carries the policy in force when it was reported, so a later change of rules never rewrites
how an open case is judged, and replay always sees the same rules.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from rectify.domain.calendar import WorkingCalendar
from rectify.domain.inspection import InspectionRules
from rectify.domain.text import TextKind
from rectify.domain.types import Frozen

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]


class UnitKind(StrEnum):
    STREET = "street"  # 街道
    TOWN = "town"  # 镇
    DEPARTMENT = "department"  # 职能部门
    GUARANTEE = "guarantee"  # 包保单位
    OFFICE = "office"  # 创文办 / 城管指挥中心 / 督查组


class Unit(Frozen):
    id: Code
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: UnitKind
    #: The post answerable when accountability (问责) reaches this unit.
    responsible_role: str = "主要负责人"


class LimitKind(StrEnum):
    WORKING = "working"  # counted on the working calendar (工作时)
    NATURAL = "natural"  # counted on the clock (自然时), for urgent categories


class Category(Frozen):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=50)]
    lead_department: Code
    #: Who leads the fix: the territorial street/town (属地主抓) or the functional department (职能主管).
    lead: Annotated[str, Field(pattern=r"^(territorial|department|road_chief)$")] = "territorial"
    rectify_limit_hours: Annotated[float, Field(gt=0, le=24 * 365)]
    limit_kind: LimitKind = LimitKind.WORKING
    duplicate_radius_m: Annotated[float, Field(gt=0, le=5000)]
    #: How recent an open case must be to absorb a repeat report; None: the policy's duplicate_window_hours.
    duplicate_window_hours: Annotated[float, Field(ge=0, le=24 * 365)] | None = None


Hours = Annotated[float, Field(gt=0, le=24 * 365)]


class StageLimits(Frozen):
    """Working hours allowed for each stage besides rectification (whose limit is per category)."""

    dispatch_hours: Hours = 1.0
    claim_hours: Hours = 2.0
    verify_hours: Hours = 7.0
    feedback_hours: Hours = 7.0


class Rung(Frozen):
    """One rung of the ladder 一整改、二曝光、三扣分、四问责, reached `after_hours` past the deadline."""

    level: Annotated[int, Field(ge=1, le=9)]
    name: Annotated[str, Field(min_length=1)]
    after_hours: Annotated[float, Field(ge=0, le=24 * 365)]
    points: Annotated[float, Field(ge=0)] = 0.0


DEFAULT_LADDER = (
    Rung(level=1, name="催办", after_hours=0),
    Rung(level=2, name="曝光", after_hours=7),
    Rung(level=3, name="扣分", after_hours=21, points=2.0),
    Rung(level=4, name="问责", after_hours=35),
)


class ExtensionLimits(Frozen):
    max_count: Annotated[int, Field(ge=0, le=10)] = 2
    #: All extensions together may add at most this share of the category's own limit.
    max_total_ratio: Annotated[float, Field(ge=0, le=10)] = 1.0


#: What a score weight may name (domain.indicators computes each; docs/indicators.md gives the formulas).
SCORED_INDICATORS = frozenset(
    {"on_time_rate", "closure_rate", "dispute_rate", "rework_rate", "claim_on_time_rate", "points", "open_overdue"}
)


class Scoring(Frozen):
    """The weekly score (一周一排名): base + Σ weight × indicator, rates as fractions 0…1, points as points.

    Ties are broken by more cases closed on time, then fewer points deducted, then the unit id.
    """

    base: float = 60.0
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "on_time_rate": 30.0,
            "closure_rate": 10.0,
            "dispute_rate": -10.0,
            "rework_rate": -10.0,
            "points": -1.0,
        }
    )

    @model_validator(mode="after")
    def _known_indicators(self) -> Scoring:
        if unknown := sorted(set(self.weights) - SCORED_INDICATORS):
            raise ValueError(f"unknown indicators {unknown}; known: {sorted(SCORED_INDICATORS)}")
        return self


class AccountabilityRules(Frozen):
    """问责: how long the unit has for its written explanation, and what each decision costs in points."""

    explanation_hours: Annotated[float, Field(gt=0, le=24 * 90)] = 21.0  # three working days
    points: dict[str, float] = Field(
        default_factory=lambda: {"no_fault": 0.0, "interview": 2.0, "public_criticism": 5.0, "discipline": 10.0}
    )


#: How much one request may carry or ask for, the same on every path (HTTP API, CLI, web pages, evidence store).
#: The largest photo taken as evidence, in bytes.
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
#: The most rows one page of a case list may ask for (/v1 `limit`).
PAGE_MAX = 200
#: The most results one search answers (Open311's list of requests, and the ids it looks up at once).
SEARCH_MAX = 1000

Chars = Annotated[int, Field(ge=1, le=20000)]


class TextLimits(Frozen):
    """The longest free text a command may carry, in characters (a report's description: description_max_chars)."""

    reason_max_chars: Chars = 2000
    note_max_chars: Chars = 2000
    address_max_chars: Chars = 500
    explanation_max_chars: Chars = 5000
    url_max_chars: Chars = 2000


class Policy(Frozen):
    """Everything `decide` needs to know about the city besides the case itself."""

    city: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(min_length=1)]
    timezone: str = "Asia/Shanghai"
    dispatcher_units: tuple[str, ...] = ()
    units: dict[str, Unit]
    categories: dict[str, Category]
    reopen_window_days: Annotated[int, Field(ge=0, le=365)] = 30
    #: A report within a category's duplicate radius of an open case opened this recently is attached to it.
    duplicate_window_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 72.0
    description_max_chars: Chars = 2000
    text: TextLimits = TextLimits()
    calendar: WorkingCalendar = WorkingCalendar()
    stages: StageLimits = StageLimits()
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    extensions: ExtensionLimits = ExtensionLimits()
    scoring: Scoring = Scoring()
    accountability: AccountabilityRules = AccountabilityRules()
    #: Inspection points' checklists, leaders, task groups and rounds (domain/inspection.py).
    inspection: InspectionRules = InspectionRules()

    @model_validator(mode="after")
    def _checklists_open_known_categories(self) -> Policy:
        for point_category in self.inspection.point_categories.values():
            for item in point_category.items:
                if item.case_category not in self.categories:
                    raise ValueError(
                        f"checklist item {point_category.code}.{item.code} opens unknown case category "
                        f"{item.case_category!r}"
                    )
        return self

    @model_validator(mode="after")
    def _ladder_climbs(self) -> Policy:
        levels = [r.level for r in self.ladder]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"ladder levels must be 1, 2, 3 … in order, got {levels}")
        offsets = [r.after_hours for r in self.ladder]
        if offsets != sorted(offsets):
            raise ValueError(f"ladder rungs must not come earlier than the rung below them: {offsets}")
        return self

    def text_limits(self) -> dict[TextKind, int]:
        t = self.text
        return {
            TextKind.DESCRIPTION: self.description_max_chars,
            TextKind.REASON: t.reason_max_chars,
            TextKind.NOTE: t.note_max_chars,
            TextKind.ADDRESS: t.address_max_chars,
            TextKind.EXPLANATION: t.explanation_max_chars,
            TextKind.URL: t.url_max_chars,
        }

    def unit(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)
