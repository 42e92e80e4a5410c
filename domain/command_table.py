"""Every command a person issues, declared once: its name, its model, who may issue it, its words.

The SDK's methods (`client.claim(...)`), the `rectify` subcommands, the `/v1` endpoints and the web forms are
built from this table. Adding a command means one entry here plus its rule in `decide` (or
`decide_proceeding`); tests/test_command_table.py checks that the roles here are exactly the ones `decide`
lets through, so the two cannot drift apart.

`inputs` are the fields the person supplies, in the model's order (the SDK's positional order); everything
else the system fills: the command id, the case, the actor (the caller), and `filled` fields looked up at
send time (a merge target's status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from rectify.domain import commands as c
from rectify.domain.accountability import DecideProceeding, SubmitExplanation
from rectify.domain.rounds import PlanRound, RecordPoint
from rectify.domain.types import Role


class Stream(StrEnum):
    """What a command acts on: a case, or an accountability proceeding (问责, `acc-…`)."""

    CASE = "case"
    PROCEEDING = "proceeding"
    ROUND = "round"  # an inspection round (巡查, `rd-…`): ROUND_COMMANDS


class InputKind(StrEnum):
    """What a form asks for (the model gives the type; this says what it means to a person)."""

    PROSE = "prose"  # free text: a reason, a note, an explanation
    UNIT = "unit"  # one of the city's units
    CASE = "case"  # another case's id
    HOURS = "hours"  # a number of hours
    YES_NO = "yes_no"  # one of two answers (`choices`)
    PHOTOS = "photos"  # photo evidence, uploaded first
    CHOICE = "choice"  # one of an enumeration's values


@dataclass(frozen=True)
class Input:
    """A field the person supplies."""

    name: str  # the command model's field
    kind: InputKind
    label: str  # Chinese, for forms
    help: str  # English, for the CLI and the API's documents
    #: The CLI's spelling when not the field's own (`--to` for to_unit).
    flag: str | None = None
    #: A yes/no field's two answers: CLI flags (`--pass/--fail`) and, in Chinese, the form's choices.
    choices: tuple[str, str] | None = None
    choice_labels: tuple[str, str] | None = None

    @property
    def option(self) -> str:
        return self.flag or self.name.replace("_", "-")


@dataclass(frozen=True)
class CommandSpec:
    """One command as the edges offer it."""

    name: str  # CLI subcommand and HTTP path segment: `rectify decide-extension`, POST …/decide-extension
    model: type[c.CommandBase]
    roles: tuple[Role, ...]  # who may issue it; the first is the CLI's default `--role`
    help: str  # English, one line (CLI help, OpenAPI summary)
    label: str  # Chinese, the form's title and button
    inputs: tuple[Input, ...] = ()
    stream: Stream = Stream.CASE
    #: The SDK's method name, when not the name with underscores (`request_extension` for `extend`).
    method_name: str | None = None
    #: Fields the system looks up when the command is sent (never the caller's word).
    filled: tuple[str, ...] = ()
    #: Only the case's lead unit may issue it when acting as a unit (decide checks it; forms show it to them).
    lead_unit_only: bool = False

    @property
    def method(self) -> str:
        return self.method_name or self.name.replace("-", "_")

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)


def _reason(help: str, label: str = "理由") -> Input:
    return Input("reason", InputKind.PROSE, label, help)


U, D, INS, R, V = Role.UNIT, Role.DISPATCHER, Role.INSPECTOR, Role.REPORTER, Role.REVIEWER

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "claim",
        c.ClaimCase,
        (U,),
        "认领: the lead unit takes the case and starts rectifying.",
        "认领",
        lead_unit_only=True,
    ),
    CommandSpec(
        "dispute",
        c.DisputeCase,
        (U,),
        "退单: the lead unit returns the dispatch with a reason.",
        "退单",
        (_reason("Why it is not this unit's case.", "退单理由"),),
        lead_unit_only=True,
    ),
    CommandSpec(
        "reassign",
        c.ReassignCase,
        (D,),
        "改派: the dispatcher names another lead unit.",
        "改派",
        (Input("to_unit", InputKind.UNIT, "改派至", "The new lead unit.", flag="to"), _reason("Why.", "改派理由")),
    ),
    CommandSpec(
        "uphold",
        c.UpholdDispatch,
        (D,),
        "维持派遣: the dispatcher refuses a dispute; the unit stays responsible.",
        "维持派遣",
        (_reason("Why the dispatch stands."),),
    ),
    CommandSpec(
        "submit",
        c.SubmitRectification,
        (U,),
        "提交办结: the unit reports the problem fixed, with photos (JPEG, PNG or WebP, checked by content).",
        "提交办结",
        (
            Input("evidence", InputKind.PHOTOS, "办结照片", "Photos of the fixed problem (办结照片)."),
            Input("note", InputKind.PROSE, "整改说明", "What was done."),
        ),
        lead_unit_only=True,
    ),
    CommandSpec(
        "verify",
        c.VerifyCase,
        (INS, D),
        "核查: pass closes the case; fail orders rework (返工) with a new deadline.",
        "核查",
        (
            Input(
                "passed",
                InputKind.YES_NO,
                "核查结果",
                "Verification result.",
                choices=("pass", "fail"),
                choice_labels=("通过", "不通过"),
            ),
            Input("note", InputKind.PROSE, "核查意见", "Finding."),
            Input("evidence", InputKind.PHOTOS, "核查照片", "The inspector's photos of the site (核查照片), optional."),
        ),
    ),
    CommandSpec(
        "reject",
        c.RejectCase,
        (D,),
        "不予立案: not accepted at intake.",
        "不予立案",
        (_reason("Why it is not accepted."),),
    ),
    CommandSpec(
        "withdraw",
        c.WithdrawCase,
        (R, D),
        "撤回: the report is withdrawn before the unit claims it.",
        "撤回",
        (_reason("Why."),),
    ),
    CommandSpec(
        "merge",
        c.MergeCase,
        (D,),
        "合并: a duplicate is merged into another open case.",
        "合并",
        (Input("into_case_id", InputKind.CASE, "并入案件", "The open case this one duplicates.", flag="into"),),
        filled=("target_status",),
    ),
    CommandSpec(
        "reopen",
        c.ReopenCase,
        (R, D, INS),
        "重新办理: reopen a closed case within the policy window; a new cycle, counted as rework.",
        "重新办理",
        (_reason("Why: not satisfied, or the problem came back."),),
    ),
    CommandSpec(
        "extend",
        c.RequestExtension,
        (U,),
        "延期申请: the lead unit asks for more time (the dispatcher then grants or refuses).",
        "申请延期",
        (
            Input("hours", InputKind.HOURS, "延期时长（小时）", "Extra hours, in the category's own units."),
            _reason("Why more time is needed.", "延期理由"),
        ),
        method_name="request_extension",
        lead_unit_only=True,
    ),
    CommandSpec(
        "decide-extension",
        c.DecideExtension,
        (D,),
        "延期审批: the dispatcher grants or refuses a pending request.",
        "延期审批",
        (
            Input(
                "granted",
                InputKind.YES_NO,
                "审批结果",
                "Grant or refuse the pending request.",
                choices=("grant", "refuse"),
                choice_labels=("同意", "不同意"),
            ),
            _reason("Why."),
        ),
    ),
    CommandSpec(
        "suspend",
        c.RequestSuspension,
        (U, D),
        "挂起申请: ask to pause every clock of the case.",
        "申请挂起",
        (_reason("Why the work cannot go on for now.", "挂起理由"),),
        method_name="request_suspension",
        lead_unit_only=True,
    ),
    CommandSpec(
        "decide-suspension",
        c.DecideSuspension,
        (D,),
        "挂起审批: the dispatcher approves (clocks stop) or refuses a suspension request.",
        "挂起审批",
        (
            Input(
                "approved",
                InputKind.YES_NO,
                "审批结果",
                "Approve or refuse the pending request.",
                choices=("approve", "refuse"),
                choice_labels=("同意", "不同意"),
            ),
            _reason("Why."),
        ),
    ),
    CommandSpec(
        "resume",
        c.ResumeCase,
        (D,),
        "恢复计时: clocks run again, with the time that was left.",
        "恢复计时",
        (_reason("Why the case can go on."),),
    ),
    CommandSpec(
        "feedback",
        c.RecordFeedback,
        (R, D, INS),
        "回访: record the reporter's answer after closure (the reporter's own, or as the office heard it).",
        "回访",
        (
            Input(
                "satisfied",
                InputKind.YES_NO,
                "回访结果",
                "The reporter's answer.",
                choices=("satisfied", "unsatisfied"),
                choice_labels=("满意", "不满意"),
            ),
            Input("note", InputKind.PROSE, "回访记录", "What the reporter said."),
        ),
        method_name="record_feedback",
    ),
    CommandSpec(
        "explain",
        SubmitExplanation,
        (U,),
        "说明: the unit's written explanation, within the policy's hours.",
        "提交书面说明",
        (Input("text", InputKind.PROSE, "书面说明", "The written explanation (说明)."),),
        stream=Stream.PROCEEDING,
        lead_unit_only=True,
    ),
    CommandSpec(
        "decide",
        DecideProceeding,
        (V,),
        "问责决定: a reviewer decides (no fault, 约谈, 通报批评, 移交纪检); it closes the proceeding.",
        "问责决定",
        (
            Input(
                "outcome",
                InputKind.CHOICE,
                "处理结果",
                "no_fault, interview (约谈), public_criticism (通报批评) or discipline (移交纪检).",
            ),
            _reason("Why."),
        ),
        stream=Stream.PROCEEDING,
        method_name="decide_accountability",
    ),
)

#: The round's commands (巡查). Their inputs are a list of points and a checklist's answers, which the generic
#: builders do not take, so `rectify rounds start|record`, `POST /v1/rounds` and `POST /v1/rounds/{round_id}/record`
#: and the SDK's `start_round` / `record_point` are written beside those builders, from these entries' names, roles
#: and words; tests/domain/test_round_commands.py holds the roles to the ones `decide_round` lets through.
ROUND_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "start",
        PlanRound,
        (D,),
        "巡查: start a round by hand: these points, walked by the inspectors, due in so many hours.",
        "发起巡查",
        (
            Input("points", InputKind.CHOICE, "巡查点位", "The points to walk (point ids)."),
            Input("due_at", InputKind.HOURS, "完成时限（小时）", "Hours from now by which the round is due."),
        ),
        stream=Stream.ROUND,
        method_name="start_round",
        filled=("kind", "inspector_unit", "leader", "task_group"),
    ),
    CommandSpec(
        "record",
        RecordPoint,
        (INS,),
        "检查记录: one point of a round, item by item: pass, or fail with a photo and a note.",
        "提交检查记录",
        (
            Input("point_id", InputKind.CHOICE, "点位", "The point walked."),
            Input(
                "answers", InputKind.PHOTOS, "检查项", "Every checklist item: passed, or failed with photos and a note."
            ),
        ),
        stream=Stream.ROUND,
        method_name="record_point",
    ),
)

#: By stream, by name: `BY_NAME[Stream.CASE]["claim"]`.
BY_NAME: Mapping[Stream, Mapping[str, CommandSpec]] = {
    stream: {spec.name: spec for spec in (*COMMANDS, *ROUND_COMMANDS) if spec.stream is stream} for stream in Stream
}
#: By SDK method name: `BY_METHOD["request_extension"]`.
BY_METHOD: Mapping[str, CommandSpec] = {spec.method: spec for spec in COMMANDS}
#: By command model.
BY_MODEL: Mapping[type, CommandSpec] = {spec.model: spec for spec in COMMANDS}

del U, D, INS, R, V
