"""A notice in words: the Chinese a unit reads, and the JSON a webhook receives. Pure functions.

`compose` turns a notice's facts (domain/notifications.py) into a `NoticeText`: a title, labelled lines and
the case page's link. Each channel renders it: `markdown` for the group robots, `plain` and `html` for
e-mail, `payload` for webhooks. The address is the reporter's own words, so it is made harmless before it
reaches a work group: one line, no markdown or HTML, no clickable scheme (a notice must not carry a
stranger's link), and cut short.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any
from urllib.parse import quote

from rectify.domain.labels import EVENT, STAGE, category_name, label, local_time, rung, rung_name, unit_name, zone
from rectify.domain.notifications import NoticeFacts
from rectify.domain.policy import Policy
from rectify.domain.types import Frozen

#: The longest address a notice repeats (the case page has the whole of it).
ADDRESS_MAX_CHARS = 120
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: Mainland mobile numbers (kept: the first three and last four digits), and landlines with an area code.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
#: Markdown and HTML syntax in reporters' text becomes its full-width look-alike, so it stays readable.
_MARKUP = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "`": "｀", "~": "～"})
_MARKUP |= str.maketrans({"|": "｜", "\\": "＼", "!": "！", "&": "＆"})
_ZONE_NAMES = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间"}


class NoticeText(Frozen):
    notice_id: str
    #: The unit told, by name: the greeting of an e-mail.
    unit_name: str
    title: str
    #: (label, value) pairs, in reading order; values are plain text.
    lines: tuple[tuple[str, str], ...]
    url: str
    #: The webhook's JSON body (docs/webhooks.md describes every field).
    payload: dict[str, Any]


def untrusted(text: str, limit: int = ADDRESS_MAX_CHARS) -> str:
    """Reporters' words made safe to repeat: one line, no URL scheme, no phone number or e-mail address
    (a reporter sometimes leaves one in the address), at most `limit` characters."""
    one_line = _SPACE.sub(" ", text).strip().replace("://", "：//")
    one_line = _EMAIL.sub("［邮箱已隐去］", one_line)
    one_line = _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", one_line)
    one_line = _LANDLINE.sub("［电话已隐去］", one_line)
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def when(policy: Policy, at: Any) -> str:
    """A moment as a person in the city reads it: `2026-03-02 16:30（周一）北京时间`."""
    return f"{local_time(policy, at, weekday=True)}{_ZONE_NAMES.get(policy.timezone, ' ' + policy.timezone)}"


def case_url(base_url: str, case_id: str) -> str:
    return f"{base_url.rstrip('/')}/cases/{quote(case_id, safe='')}"


def compose(facts: NoticeFacts, policy: Policy, base_url: str) -> NoticeText:
    """The notice for `facts`, in the city's words and time zone, linking to `{base_url}/cases/{case_id}`."""
    tag = label(EVENT, facts.kind)
    if facts.kind == "escalation_raised":
        tag = rung_name(policy, facts.level) or f"第{facts.level}级"
    category = category_name(policy, facts.category) if facts.category else None
    title = f"【{tag}】{category + ' · ' if category else ''}案件 {facts.case_id}"
    url = case_url(base_url, facts.case_id)
    place = _place(facts, policy)
    lines: list[tuple[str, str]] = [("事项", facts.summary), ("案件编号", facts.case_id)]
    if category:
        lines.append(("问题类别", category))
    if place:
        lines.append(("问题地点", place))
    if facts.claim_due_at:
        lines.append(("认领时限", when(policy, facts.claim_due_at)))
    if facts.deadline_stage and facts.due_at:
        state = "（已超期）" if facts.missed else "（节假日安排未公布，为预计）" if facts.estimated else ""
        lines.append((f"{label(STAGE, facts.deadline_stage)}时限", when(policy, facts.due_at) + state))
    if facts.level > 0:
        lines.append(("升级", rung(policy, facts.level) + (f"，扣{facts.points:g}分" if facts.points else "")))
    elif facts.points:
        lines.append(("扣分", f"{facts.points:g}分"))
    lines.append(("责任单位", unit_name(policy, facts.unit)))
    lines.append(("发生时间", when(policy, facts.occurred_at)))
    name = unit_name(policy, facts.unit)
    text = NoticeText(notice_id=facts.notice_id, unit_name=name, title=title, lines=tuple(lines), url=url, payload={})
    return text.model_copy(update={"payload": _payload(facts, policy, text)})


#: The kind of `rectify channels test`'s notice, which is about no case.
TEST_KIND = "channel_test"


def trial_notice(unit: str, policy: Policy, base_url: str, *, notice_id: str, at: Any) -> NoticeText:
    """A notice that only proves the channel works (`rectify channels test`): about no case, links home."""
    summary = "测试通知：本渠道已接通，无需处理"
    name = unit_name(policy, unit)
    lines = (("事项", summary), ("责任单位", name), ("发送时间", when(policy, at)))
    text = NoticeText(
        notice_id=notice_id, unit_name=name, title="【测试】渠道接通测试", lines=lines, url=base_url, payload={}
    )
    payload = {
        "notice_id": notice_id,
        "kind": TEST_KIND,
        "occurred_at": at.astimezone(zone(policy.timezone)).isoformat(),
        "title": text.title,
        "text": plain(text),
        "url": base_url,
        "unit": {"id": unit, "name": name},
        "case": None,
        "deadline": None,
        "claim_due_at": None,
        "rung": None,
    }
    return text.model_copy(update={"payload": payload})


def _place(facts: NoticeFacts, policy: Policy) -> str:
    territory = unit_name(policy, facts.territorial_unit) if facts.territorial_unit else None
    around = [name for name in (facts.road, territory) if name]
    if facts.address:
        return untrusted(facts.address) + (f"（{'，'.join(around)}）" if around else "")
    return "，".join(around)


def _payload(facts: NoticeFacts, policy: Policy, text: NoticeText) -> dict[str, Any]:
    def moment(at: Any) -> str | None:
        return at.astimezone(zone(policy.timezone)).isoformat() if at else None

    deadline = None
    if facts.deadline_stage and facts.due_at:
        deadline = {
            "stage": facts.deadline_stage,
            "stage_name": label(STAGE, facts.deadline_stage),
            "due_at": moment(facts.due_at),
            "missed": facts.missed,
            "estimated": facts.estimated,
        }
    territorial = facts.territorial_unit
    return {
        "notice_id": facts.notice_id,
        "kind": facts.kind,
        "occurred_at": moment(facts.occurred_at),
        "title": text.title,
        "text": plain(text),
        "url": text.url,
        "unit": {"id": facts.unit, "name": unit_name(policy, facts.unit)},
        "case": {
            "id": facts.case_id,
            "category": {"code": facts.category, "name": category_name(policy, facts.category)}
            if facts.category
            else None,
            "address": untrusted(facts.address, 10_000) if facts.address else None,
            "road": facts.road,
            "territorial_unit": {"id": territorial, "name": unit_name(policy, territorial)} if territorial else None,
        },
        "deadline": deadline,
        "claim_due_at": moment(facts.claim_due_at),
        "rung": {"level": facts.level, "name": rung_name(policy, facts.level), "points": facts.points}
        if facts.level > 0
        else None,
    }


# -- renderings --------------------------------------------------------------------------------------------
def plain(text: NoticeText) -> str:
    body = "\n".join(f"{name}：{value}" for name, value in text.lines)
    return f"{text.title}\n{body}\n查看详情：{text.url}"


def markdown(text: NoticeText) -> str:
    """For 企业微信 and 钉钉 robots: a heading, one bold label per line, and the case link."""
    body = "\n".join(f"> **{name}**：{value.translate(_MARKUP)}" for name, value in text.lines)
    return f"### {text.title.translate(_MARKUP)}\n{body}\n\n[查看案件详情]({text.url})"


def html(text: NoticeText, *, greeting: str | None = None) -> str:
    esc = html_lib.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{esc(n)}</th><td>{esc(v)}</td></tr>'
        for n, v in text.lines
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>'
        f"<p>{esc(greeting or text.unit_name + '：')}</p><h3>{esc(text.title)}</h3><table>{rows}</table>"
        f'<p><a href="{esc(text.url)}">查看案件详情</a></p>'
        '<p style="color:#666">本邮件由问题整改系统自动发送，请勿直接回复。</p></body></html>'
    )
