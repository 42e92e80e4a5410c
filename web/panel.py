"""The actions a person may take on a case now, as forms: asked of the decider (domain/offers.py), built from the
command table (web/forms.py), each with what the person needs to know to decide (the reason of a dispute, the
request pending, the extension cap), and with what they typed when a form comes back with errors or a draft.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rectify.client import access
from rectify.domain import events as e
from rectify.domain.command_table import BY_NAME, CommandSpec, InputKind, Stream
from rectify.domain.offers import offered
from rectify.domain.policy import EVIDENCE_MAX_BYTES, LimitKind, Policy
from rectify.domain.state import CaseState
from rectify.store.staff import StaffUser
from rectify.store.worklists import take_draft
from rectify.web.accounts import actor_of
from rectify.web.context import Web, templates
from rectify.web.forms import FormField, FormTokens, fields_for
from rectify.web.labels import unit_name
from rectify.web.present import local
from rectify.web.rejections import Refusal, area_words

#: The photo inputs tell the browser the size limit, so a phone says so before sending 12 MB for nothing.
templates.env.globals["max_photo_bytes"] = EVIDENCE_MAX_BYTES

#: What most often comes next, shown first and as a filled button; the rest keep the table's order.
PRIMARY = ("claim", "submit", "verify", "decide-extension", "decide-suspension", "uphold", "reassign", "resume")
#: Ends or folds the case: shown last, set apart.
GRAVE = frozenset({"reject", "withdraw", "merge"})


@dataclass
class ActionForm:
    spec: CommandSpec
    case_id: str
    fields: tuple[FormField, ...]
    token: str
    #: Where the person goes after it is done (the page the form is on).
    back: str
    intro: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    refusal: Refusal | None = None
    open: bool = False

    @property
    def primary(self) -> bool:
        return self.spec.name in PRIMARY

    @property
    def grave(self) -> bool:
        return self.spec.name in GRAVE

    @property
    def multipart(self) -> bool:
        return any(f.kind is InputKind.PHOTOS for f in self.fields)

    @property
    def html_id(self) -> str:
        return f"act-{self.case_id[:8]}-{self.spec.name}"


def tokens(web: Web) -> FormTokens:
    return FormTokens(web.secret)


_Found = TypeVar("_Found", bound=e.EventBase)


def _last(events: Sequence[e.EventBase], kind: type[_Found]) -> _Found | None:
    return next((ev for ev in reversed(events) if isinstance(ev, kind)), None)


def intro(spec: CommandSpec, state: CaseState, events: Sequence[e.EventBase], policy: Policy) -> str:
    """What the person should have in front of them when they take this action."""
    match spec.name:
        case "verify" if (done := _last(events, e.RectificationSubmitted)) is not None:
            note = f"，说明：{done.note}" if done.note else ""
            return f"{unit_name(policy, done.actor.unit_id)}于 {local(policy, done.occurred_at)} 提交办结{note}"
        case "extend":
            caps, category = policy.extensions, policy.categories.get(state.category)
            if category is None:
                return ""
            hours = "自然小时" if category.limit_kind is LimitKind.NATURAL else "工作小时"
            allowed = caps.max_total_ratio * category.rectify_limit_hours
            return (
                f"按{hours}计。每案最多延期 {caps.max_count} 次、累计不超过 {allowed:g} 小时；"
                f"本案已延期 {state.extensions_granted} 次，共 {state.extension_hours:g} 小时。由指挥中心审批。"
            )
        case "suspend":
            return "挂起经指挥中心同意后，所有时限暂停计时，恢复后顺延。"
        case "resume" if state.suspended_at is not None:
            return f"自 {local(policy, state.suspended_at)} 起挂起；恢复后各时限按挂起时长顺延。"
        case "dispute":
            return "如问题不属于本单位职责或辖区，请写明理由，由指挥中心改派或维持派遣。"
        case "claim":
            return "认领后即开始整改计时。"
    return ""


def pending(state: CaseState, events: Sequence[e.EventBase], policy: Policy) -> list[str]:
    """What waits for a decision on this case: a dispute, an extension or a suspension asked for."""
    found = []
    if state.dispute_reason:
        found.append(f"{unit_name(policy, state.lead_unit)}退单，理由：{state.dispute_reason}")
    if state.extension_pending is not None and (req := _last(events, e.ExtensionRequested)) is not None:
        who = unit_name(policy, req.actor.unit_id)
        found.append(f"{who}申请延期 {req.hours:g} 小时（{local(policy, req.occurred_at)}），理由：{req.reason}")
    if state.suspension_pending and (req := _last(events, e.SuspensionRequested)) is not None:
        who = unit_name(policy, req.actor.unit_id)
        found.append(f"{who}申请挂起（{local(policy, req.occurred_at)}），理由：{req.reason}")
    return found


def panel(
    web: Web,
    user: StaffUser,
    state: CaseState,
    events: Sequence[e.EventBase],
    *,
    back: str,
    only: frozenset[str] | None = None,
) -> list[ActionForm]:
    """The forms for what `user` may do on the case now (those in `only`, when given), primary ones first."""
    actor = actor_of(user)
    if actor is None or access.outside_area(user.role, user.areas, state.territorial_unit):
        return []
    policy = web.policy
    issue = tokens(web).issue
    forms = [
        ActionForm(
            spec=spec,
            case_id=state.case_id,
            fields=fields_for(spec, state, policy),
            token=issue(user.name, state.case_id, spec.name),
            back=back,
            intro=intro(spec, state, events, policy),
        )
        for spec in offered(state, actor, web.clock(), policy)
        if only is None or spec.name in only
    ]
    rank = {name: i for i, name in enumerate(PRIMARY)}
    return sorted(forms, key=lambda f: (f.grave, rank.get(f.spec.name, len(PRIMARY))))


async def page_actions(
    web: Web,
    user: StaffUser,
    state: CaseState,
    events: Sequence[e.EventBase],
    *,
    back: str | None = None,
    draft: str = "",
    done: str = "",
) -> dict[str, Any]:
    """The case page's share: its forms, what was just done, and a draft typed before signing in again."""
    forms = panel(web, user, state, events, back=back or f"/cases/{state.case_id}")
    spec = BY_NAME[Stream.CASE].get(done)
    restored = None
    kept = await take_draft(web.store.pool, draft[:100], user.name, state.case_id) if draft else None
    if kept is not None:
        action, typed = kept
        form = next((f for f in forms if f.spec.name == action), None)
        if form is not None:
            form.values, form.open = {k: str(v) for k, v in typed.items()}, True
            photos = "照片需要重新选择。" if form.multipart else ""
            restored = f"登录已过期，您填写的内容已恢复，请核对后重新提交。{photos}"
        else:
            words = "；".join(str(v) for v in typed.values() if v)
            label = BY_NAME[Stream.CASE][action].label if action in BY_NAME[Stream.CASE] else action
            restored = f"登录前填写的「{label}」当前已不能办理（案件可能已由他人处理）。您填写的内容：{words}"
    return {
        "actions": forms,
        "pending": pending(state, events, web.policy) if forms else [],
        "flash": f"办理成功：{spec.label}" if spec else None,
        "restored": restored,
        "outside_area": area_words(web.policy, None, user.areas, state.territorial_unit)
        if access.outside_area(user.role, user.areas, state.territorial_unit)
        else None,
    }
