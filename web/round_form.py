"""The checklist form of one point of a round: read what was posted, each problem in Chinese beside its item, and
the decider's refusal of a record told as its rule in words.

Per checklist item `c` the form posts `answer-c` (pass or fail), `note-c` and `photo-c` (one or more photos, taken
with the phone's camera). A failure needs a photo and a note, as the decider says (domain/points.py
`check_answers`); this only says so first, beside the item. The form's `command_id` is made when the form is
opened and kept with it on the phone, so the same form sent again is the same command, recorded once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile

from rectify.client import CommandRejected
from rectify.client.evidence import EvidenceRejected, inspect_photo
from rectify.domain.inspection import PointCategory
from rectify.domain.points import ItemAnswer
from rectify.domain.policy import EVIDENCE_MAX_BYTES, Policy
from rectify.domain.rounds import RoundState
from rectify.domain.text import TextKind, text_problem
from rectify.store.evidence import EvidenceStore
from rectify.web.labels import unit_name

#: A command id as the page makes it (a UUID), or anything of that shape the phone kept.
COMMAND_ID = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
MAX_PHOTOS_PER_ITEM = 5
_MiB = 1024 * 1024


@dataclass
class Posted:
    """What the form said: the answers when it is complete, otherwise the problems by field name."""

    answers: list[ItemAnswer] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    #: What was chosen and typed, to show the form again as it was sent.
    values: dict[str, str] = field(default_factory=dict)


def _photos(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


async def read_posted(form: FormData, category: PointCategory, policy: Policy, evidence: EvidenceStore) -> Posted:
    posted = Posted()
    note_limit = policy.text_limits()[TextKind.NOTE]
    for item in category.items:
        answer_name, note_name, photo_name = f"answer-{item.code}", f"note-{item.code}", f"photo-{item.code}"
        answer = str(form.get(answer_name) or "")
        note = str(form.get(note_name) or "").replace("\r\n", "\n")
        posted.values[answer_name], posted.values[note_name] = answer, note
        if answer not in ("pass", "fail"):
            posted.errors[answer_name] = "请选择「通过」或「未通过」"
            continue
        if len(note) > note_limit:
            posted.errors[note_name] = f"说明不能超过 {note_limit} 个字（现有 {len(note)} 个字）"
        elif text_problem(note, TextKind.NOTE, None) is not None:
            posted.errors[note_name] = "说明含有无法保存的控制字符，请删除后再提交"
        elif answer == "fail" and not note.strip():
            posted.errors[note_name] = "未通过的检查项须填写问题说明"
        files = _photos(form, photo_name)
        refs = []
        if len(files) > MAX_PHOTOS_PER_ITEM:
            posted.errors[photo_name] = f"每项最多上传 {MAX_PHOTOS_PER_ITEM} 张照片"
        for i, upload in enumerate(files[:MAX_PHOTOS_PER_ITEM], 1):
            data = await upload.read()
            try:
                media_type = inspect_photo(data)
            except EvidenceRejected:
                posted.errors[photo_name] = (
                    f"第 {i} 张照片超过 {EVIDENCE_MAX_BYTES // _MiB} MB，请压缩或重新拍摄"
                    if len(data) > EVIDENCE_MAX_BYTES
                    else f"第 {i} 张不是可用的照片（须为 JPEG、PNG 或 WebP 图片）"
                )
                break
            refs.append(evidence.put(data, media_type))
        if answer == "fail" and not files and photo_name not in posted.errors:
            posted.errors[photo_name] = "未通过的检查项须拍摄现场照片"
        if not (posted.errors.keys() & {note_name, photo_name}):
            passed = answer == "pass"
            # A passed item keeps no photo or note of a failure: only what the decider reads for a pass.
            posted.answers.append(
                ItemAnswer(
                    item=item.code,
                    passed=passed,
                    evidence=() if passed else tuple(refs),
                    note=note.strip(),
                )
            )
    return posted


def refusal_words(rejected: CommandRejected, state: RoundState | None, policy: Policy, point_name: str) -> str:
    """Why the round's workflow refused this record, in a sentence (the rule's code is shown beside it)."""
    match rejected.rule:
        case "wrong_status" if "recorded already" in str(rejected):
            return f"「{point_name}」已在本轮巡查中记录过，不能重复记录。如需补充，请在下一轮巡查中记录。"
        case "wrong_status":
            return "本轮巡查已结束（已完成或已过期），不再接受记录。"
        case "not_authorised":
            unit = unit_name(policy, state.inspector_unit) if state else "指定单位"
            return f"本轮巡查由{unit}的督查人员执行，本账号不能记录。"
        case "invalid_text":
            return "填写的文字无法保存：含有控制字符，或超过了长度上限。"
        case "unknown_category":
            return "该点位的类别不在本区的检查清单中，请联系指挥中心。"
        case "invalid_command" if "not on this round" in str(rejected):
            return f"「{point_name}」不在本轮巡查的点位中。"
        case "invalid_command":
            return "检查清单须逐项填写：每项选择通过或未通过，未通过的须拍照并填写说明。"
        case _:
            return "巡查服务拒绝了本次记录。"
