"""The Chinese words people read for the system's codes: statuses, roles, channels, stages, rungs, events.

One place for them, so every page, notice and bulletin says the same thing: the web pages (web/labels.py
names these), the notices (domain/notifications.py, channels/text.py) and the bulletins read this table.
Pure data over the domain's codes. A code with no entry here is shown as itself rather than hidden:
`label(TABLE, code)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from rectify.domain.policy import Policy

#: Case status (CaseStatus) → what a person calls it.
STATUS: Mapping[str, str] = {
    "reported": "待派遣",
    "dispatched": "待认领",
    "claimed": "整改中",
    "submitted": "待核查",
    "closed": "已办结",
    "rejected": "不予立案",
    "disputed": "退单待定",
    "suspended": "挂起",
    "merged": "已合并",
    "withdrawn": "已撤回",
}

#: A colour family per status, for badges (CSS class `tone-…`): what needs attention stands out.
STATUS_TONE: Mapping[str, str] = {
    "reported": "info",
    "dispatched": "info",
    "claimed": "work",
    "submitted": "check",
    "closed": "done",
    "rejected": "muted",
    "disputed": "alert",
    "suspended": "muted",
    "merged": "muted",
    "withdrawn": "muted",
}

#: The order statuses are offered in filters: the working path first, then the side paths.
STATUS_ORDER = (
    "reported",
    "dispatched",
    "claimed",
    "submitted",
    "disputed",
    "suspended",
    "closed",
    "rejected",
    "merged",
    "withdrawn",
)

#: Roles of staff accounts (web sign-in).
STAFF_ROLE: Mapping[str, str] = {
    "dispatcher": "派遣员",
    "unit": "责任单位",
    "inspector": "核查员",
    "leader": "领导",
    "auditor": "审计督查",
}

#: Roles an actor had on a recorded event (domain Role).
ACTOR_ROLE: Mapping[str, str] = {
    "reporter": "举报人",
    "dispatcher": "派遣员",
    "unit": "责任单位",
    "inspector": "核查员",
    "auditor": "审计",
    "reviewer": "纪检督查室",
    "system": "系统",
}

CHANNEL: Mapping[str, str] = {
    "snapshot": "随手拍",
    "hotline": "创建热线",
    "volunteer": "文明义务监督员",
    "inspection": "督查组巡查",
    "third_party": "第三方测评",
    "leader_walk": "领导巡查",
    "open311": "开放接口（Open311）",
}

#: Deadline stages (domain.deadlines.Stage), and an accountability proceeding's written explanation.
STAGE: Mapping[str, str] = {
    "dispatch": "派遣",
    "claim": "认领",
    "rectify": "整改",
    "verify": "核查",
    "feedback": "回访",
    "explanation": "书面说明",
}

UNIT_KIND: Mapping[str, str] = {
    "street": "街道",
    "town": "镇",
    "department": "职能部门",
    "guarantee": "包保单位",
    "office": "区级办公室",
}

#: Why the router named the lead unit (Routing.rule).
ROUTING_RULE: Mapping[str, str] = {
    "territorial": "属地镇街主抓：问题所在街道（镇）牵头整改",
    "department": "职能部门主管：按问题类别由主管部门牵头整改",
    "road_chief": "路长制：由问题所在道路的路长单位牵头整改",
    "territorial_fallback": "路长制类别，附近无道路：由所在街道（镇）牵头整改",
    "reassigned": "派遣员改派",
}

#: What each recorded event is, in a few words (the timeline's "what").
EVENT: Mapping[str, str] = {
    "case_reported": "受理举报",
    "case_dispatched": "派遣",
    "case_rejected": "不予立案",
    "case_claimed": "认领",
    "case_disputed": "退单",
    "case_reassigned": "改派",
    "dispatch_upheld": "维持派遣",
    "rectification_submitted": "提交整改结果",
    "case_closed": "核查通过，结案",
    "rework_ordered": "核查未通过，返工",
    "case_withdrawn": "撤回",
    "duplicate_attached": "重复举报并入",
    "case_merged": "合并到其他案件",
    "case_absorbed": "并入重复案件",
    "case_reopened": "重新办理",
    "deadline_set": "设定时限",
    "deadline_missed": "超期",
    "escalation_raised": "升级",
    "extension_requested": "申请延期",
    "extension_granted": "同意延期",
    "extension_refused": "不同意延期",
    "suspension_requested": "申请挂起",
    "case_suspended": "挂起",
    "suspension_refused": "不同意挂起",
    "case_resumed": "恢复办理",
    "feedback_recorded": "回访",
    "proceeding_opened": "移交问责",
    "explanation_submitted": "提交书面说明",
    "explanation_missed": "未按时提交说明",
    "proceeding_decided": "问责决定",
    "proceeding_closed": "问责结束",
}

#: Decisions of an accountability proceeding (domain.accountability.Outcome).
OUTCOME: Mapping[str, str] = {
    "no_fault": "不予问责",
    "interview": "约谈",
    "public_criticism": "通报批评",
    "discipline": "移交纪检",
}


#: Why a case needs the dispatch office (domain.office_queue.Need), and the tone of its badge.
NEED: Mapping[str, str] = {
    "dispute": "退单待定",
    "request": "延期/挂起申请",
    "unrouted": "待人工派遣",
    "overdue": "超期",
    "claim": "待认领",
    "verify": "待核查",
}
NEED_TONE: Mapping[str, str] = {
    "dispute": "alert",
    "request": "work",
    "unrouted": "alert",
    "overdue": "alert",
    "claim": "info",
    "verify": "check",
}


def label(table: Mapping[str, str], code: object) -> str:
    """The Chinese word for `code`, or the code itself when the table has none (never an empty cell)."""
    text = str(getattr(code, "value", code))
    return table.get(text, text)


def rung(policy: Policy, level: int) -> str:
    """A rung by its level, named as the city's ladder names it (一整改、二曝光、三扣分、四问责)."""
    if level <= 0:
        return "未升级"
    name = rung_name(policy, level)
    return f"第{level}级 {name}" if name else f"第{level}级"


def rung_name(policy: Policy, level: int) -> str | None:
    """The rung's own name (催办, 曝光 …), or None for a level the ladder does not have."""
    return next((r.name for r in policy.ladder if r.level == level), None)


def unit_name(policy: Policy, unit_id: str | None) -> str:
    if not unit_id:
        return "—"
    unit = policy.units.get(unit_id)
    return unit.name if unit else unit_id


def category_name(policy: Policy, code: str) -> str:
    spec = policy.categories.get(code)
    return spec.name if spec else code


_WEEKDAYS = "一二三四五六日"


@lru_cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(policy: Policy, ts: datetime | None, *, weekday: bool = False) -> str:
    """`2026-12-03 10:30` in the city's time zone (the policy's, Beijing time for Jiangbei)."""
    if ts is None:
        return "—"
    at = ts.astimezone(zone(policy.timezone))
    text = at.strftime("%Y-%m-%d %H:%M")
    return f"{text}（周{_WEEKDAYS[at.weekday()]}）" if weekday else text
