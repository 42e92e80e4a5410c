"""Small frozen value types shared by commands, events and state."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_set = object.__setattr__


class Frozen(BaseModel):
    """Immutable, strict-shaped base: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def replaced(self, changes: dict[str, Any]) -> Self:
        """`model_copy(update=changes)`, without its generic copying: a fold makes one per event (the audit and the
        rebuild fold every event of the store). Like `model_copy`, the changes are not validated: they come from
        validated events. A Frozen has no extra fields (forbidden) and no private attributes."""
        new = type(self).__new__(type(self))
        _set(new, "__dict__", {**self.__dict__, **changes})
        _set(new, "__pydantic_fields_set__", self.__pydantic_fields_set__ | changes.keys())
        _set(new, "__pydantic_extra__", None)
        _set(new, "__pydantic_private__", None)
        return new


def _as_utc(value: datetime) -> datetime:
    # Every instant in the record is aware UTC, so canonical JSON (and the hash chain) has one spelling.
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class Role(StrEnum):
    """Who may act: 举报人, 派遣员 (创文办/指挥中心), 责任单位, 核查员, 审计/督查, 系统."""

    REPORTER = "reporter"
    DISPATCHER = "dispatcher"
    UNIT = "unit"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"
    REVIEWER = "reviewer"  # 纪检/督查室: decides accountability proceedings (问责)
    SYSTEM = "system"


class Actor(Frozen):
    """The unit (or person's unit) acting, and the role it acts in."""

    unit_id: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role


SYSTEM_ACTOR = Actor(unit_id="system", role=Role.SYSTEM)


class CaseStatus(StrEnum):
    REPORTED = "reported"
    DISPATCHED = "dispatched"
    CLAIMED = "claimed"  # rectifying (整改中)
    SUBMITTED = "submitted"  # awaiting verification (待核查)
    CLOSED = "closed"
    REJECTED = "rejected"  # 不予立案
    DISPUTED = "disputed"  # 退单
    SUSPENDED = "suspended"  # 挂起
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


#: Statuses from which nothing more happens (a closed case may still be reopened within the window).
FINAL_STATUSES = frozenset({CaseStatus.REJECTED, CaseStatus.MERGED, CaseStatus.WITHDRAWN})
#: Statuses in which a case is still being worked on and can absorb duplicates.
OPEN_STATUSES = frozenset(
    {
        CaseStatus.REPORTED,
        CaseStatus.DISPATCHED,
        CaseStatus.CLAIMED,
        CaseStatus.SUBMITTED,
        CaseStatus.DISPUTED,
        CaseStatus.SUSPENDED,
    }
)
#: Statuses in which a case is done with, for now or for good (Open311's "closed"): every status not open.
CLOSED_STATUSES = frozenset(CaseStatus) - OPEN_STATUSES


class Channel(StrEnum):
    """Where a report came from."""

    SNAPSHOT = "snapshot"  # 随手拍
    HOTLINE = "hotline"  # 创建热线 / 12345
    VOLUNTEER = "volunteer"  # 文明义务监督员
    INSPECTION = "inspection"  # 督查组
    THIRD_PARTY = "third_party"  # 第三方测评
    LEADER_WALK = "leader_walk"  # 领导巡查
    OPEN311 = "open311"


class Point(Frozen):
    """WGS84 longitude/latitude of the problem."""

    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]


#: Routing.rule when the category's own rule could not be followed (a road-chief category away from every road).
FALLBACK_RULE = "territorial_fallback"


class Routing(Frozen):
    """The router's answer for (category, point): who is responsible, and which rule decided it.

    属地镇街主抓、职能部门主管、包保部门同责联创: the lead unit handles the case; the territorial unit,
    grid, road chief and guarantee unit share responsibility and are named on the record.
    """

    lead_unit: str
    territorial_unit: str
    grid_id: str
    grid_chief: str | None = None
    road_chief: str | None = None
    road: str | None = None
    guarantee_unit: str | None = None
    community: str | None = None
    rule: str


class EvidenceRef(Frozen):
    """A photo or document kept outside the history, addressed by its SHA-256."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0)]
    media_type: Annotated[str, Field(min_length=1, max_length=100)]
    location: Point | None = None
