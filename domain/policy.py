"""The rules a city runs on, as data: categories and their limits, the units, the windows.

A case carries the policy in force when it was reported, so a later change of rules never rewrites
how an open case is judged, and replay always sees the same rules.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

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


class Policy(Frozen):
    """Everything `decide` needs to know about the city besides the case itself."""

    city: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(min_length=1)]
    timezone: str = "Asia/Shanghai"
    dispatcher_units: tuple[str, ...] = ()
    units: dict[str, Unit]
    categories: dict[str, Category]
    reopen_window_days: Annotated[int, Field(ge=0, le=365)] = 30
    description_max_chars: Annotated[int, Field(ge=1, le=20000)] = 2000

    def unit(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)
