"""The decider's refusal of an action, told in words: the rule it names, said for the case as it stands.

The decider has already refused; this only explains, in Chinese, which of its rules did so, using the case's
state and the city's policy for the particulars (a pending request, the extension cap, the reopening window).
The rule's code is shown beside the words, so a person can quote it to the office.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rectify.client import CommandRejected
from rectify.domain.command_table import CommandSpec
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.types import Role
from rectify.web.labels import ACTOR_ROLE, STATUS, label, unit_name


@dataclass(frozen=True)
class Refusal:
    words: str
    rule: str


def _wrong_status(spec: CommandSpec, state: CaseState) -> str:
    pending = {
        "extend": state.extension_pending is not None
        and f"已有一项延期申请（{state.extension_pending:g} 小时）等待审批，审批前不能再次申请。",
        "suspend": state.suspension_pending and "已有一项挂起申请等待审批，审批前不能再次申请。",
        "decide-extension": state.extension_pending is None and "没有待审批的延期申请，可能已由他人处理。",
        "decide-suspension": not state.suspension_pending and "没有待审批的挂起申请，可能已由他人处理。",
        "feedback": state.feedback_at is not None and "本案已记录过回访结果。",
        "merge": "要并入的案件不存在或已结束（须为在办案件），请核对案件编号。",
    }.get(spec.name)
    if pending:
        return pending
    return f"案件当前为「{label(STATUS, state.status)}」，此时不能{spec.label}。可能已由他人办理，请查看最新办理经过。"


def _window_closed(spec: CommandSpec, state: CaseState, policy: Policy) -> str:
    if spec.name == "extend":
        caps, category = policy.extensions, policy.categories.get(state.category)
        allowed = caps.max_total_ratio * category.rectify_limit_hours if category else 0
        return (
            f"延期已达上限：每案最多延期 {caps.max_count} 次，累计不超过 {allowed:g} 小时"
            f"（该类别整改时限的 {caps.max_total_ratio:g} 倍）；本案已延期 {state.extensions_granted} 次，"
            f"共 {state.extension_hours:g} 小时。请缩短申请时长，或与指挥中心联系。"
        )
    if spec.name == "reopen":
        return f"已超过重新办理期限：结案后 {policy.reopen_window_days} 天内方可重新办理。"
    return f"已超过政策规定的期限，不能{spec.label}。"


def area_words(policy: Policy, spec: CommandSpec | None, areas: Sequence[str], territory: str | None) -> str:
    """Why an inspector may not act (`spec`, or at all) on a case outside its area (client/access.py)."""
    where = unit_name(policy, territory) if territory else "未确定属地的区域"
    mine = "、".join(unit_name(policy, a) for a in areas)
    what = f"不能{spec.label}" if spec else "可以查看，不能办理"
    return f"本案属地为{where}，不在您的核查区域（{mine}）内，{what}。请由该区域的核查员办理，或与指挥中心联系。"


def in_words(
    spec: CommandSpec, rejected: CommandRejected, state: CaseState | None, role: Role, policy: Policy
) -> Refusal:
    """Why the decider (or the SDK) refused `spec` on this case, in a sentence or two."""
    rule = rejected.rule
    if state is None:
        return Refusal(f"案件没有记录，无法{spec.label}。", rule)
    match rule:
        case "wrong_status":
            words = _wrong_status(spec, state)
        case "not_authorised" if spec.lead_unit_only and role is Role.UNIT:
            words = f"只有本案的牵头单位（{unit_name(policy, state.lead_unit)}）可以{spec.label}。"
        case "not_authorised":
            words = f"{label(ACTOR_ROLE, role)}不能{spec.label}。"
        case "window_closed":
            words = _window_closed(spec, state, policy)
        case "invalid_text":
            words = "填写的文字无法保存：含有控制字符，或超过了长度上限。"
        case "unknown_unit":
            words = "所选单位不在本区的单位名录中。"
        case "invalid_command" if spec.name == "reassign":
            words = "改派的单位须不同于当前牵头单位；如认为原派遣正确，请选择「维持派遣」。"
        case "invalid_command" if spec.name == "merge":
            words = "不能并入本案自身，请填写另一件在办案件的编号。"
        case "invalid_command":
            words = "填写的内容不符合要求，请检查后重试。"
        case "case_ended":
            words = f"案件已结束（{label(STATUS, state.status)}），不再接受办理。"
        case "idempotency_key_reused":
            words = "这张表单已提交过不同的内容；为避免重复办理，本次未处理。请按最新页面重新填写。"
        case _:
            words = f"未能{spec.label}，办理服务拒绝了本次操作。"
    return Refusal(words, rule)
