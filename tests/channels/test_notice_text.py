"""A notice's words: what it names, in the city's time, and what it never carries (pure: no server starts)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from rectify.channels import dingtalk, smtp, wecom
from rectify.channels.config import EmailChannel
from rectify.channels.text import compose, html, markdown, plain, untrusted
from rectify.domain import labels
from rectify.domain.accountability import decide_proceeding, referral_for
from rectify.domain.notifications import notice_facts, notifications_for
from rectify.web import labels as web_labels
from tests.support.given import LEAD, POLICY, T0, report, tick
from tests.support.notices import BASE_URL, a_notice, facts_of, ladder_notices


def lines(text: object) -> dict[str, str]:
    return dict(text.lines)  # type: ignore[attr-defined]


def test_a_dispatch_names_the_case_category_place_deadlines_unit_and_link() -> None:
    text = a_notice(address="观音桥步行街 3 号")
    case_id = text.payload["case"]["id"]
    assert text.title == f"【派遣】占道经营 · 案件 {case_id}"
    assert text.url == f"https://rectify.example.invalid/cases/{case_id}"
    assert lines(text) == {
        "事项": "新派单：请在时限内认领并整改",
        "案件编号": case_id,
        "问题类别": "占道经营",
        "问题地点": "观音桥步行街 3 号（甲街道）",
        "认领时限": "2026-11-24 11:30（周二）北京时间",  # T0 is 09:30 in the city; two working hours
        "整改时限": "2026-11-24 11:30（周二）北京时间",
        "责任单位": "甲街道",
        "发生时间": "2026-11-24 09:30（周二）北京时间",
    }
    assert plain(text).endswith(f"查看详情：{text.url}") and f"[查看案件详情]({text.url})" in markdown(text)


def test_times_are_shown_in_the_policys_time_zone() -> None:
    [dispatched, *_] = ladder_notices()
    tokyo = compose(dispatched, POLICY.model_copy(update={"timezone": "Asia/Tokyo"}), BASE_URL)
    assert lines(tokyo)["整改时限"] == "2026-11-24 12:30（周二） Asia/Tokyo"
    assert tokyo.payload["deadline"]["due_at"] == "2026-11-24T12:30:00+09:00"


def test_misses_and_rungs_name_the_missed_deadline_and_the_rung() -> None:
    found, _, _ = facts_of((timedelta(0), report()), (timedelta(days=10), tick()))
    assert [(f.kind, f.deadline_stage, f.level) for f in found] == [
        ("case_dispatched", "rectify", 0),
        ("deadline_missed", "claim", 0),
        ("deadline_missed", "rectify", 0),
        ("escalation_raised", "rectify", 1),
        ("escalation_raised", "rectify", 2),
        ("escalation_raised", "rectify", 3),
        ("escalation_raised", "rectify", 4),
    ]
    texts = [compose(f, POLICY, BASE_URL) for f in found]
    assert lines(texts[1])["认领时限"] == "2026-11-24 11:30（周二）北京时间（已超期）"
    assert [t.title.split("】")[0] for t in texts[3:]] == ["【催办", "【曝光", "【扣分", "【问责"]
    assert lines(texts[5])["升级"] == "第3级 扣分，扣2分"
    assert texts[6].payload["rung"] == {"level": 4, "name": "问责", "points": 0.0}
    assert "升级" not in lines(texts[0]) and texts[0].payload["rung"] is None


def test_a_referral_to_accountability_names_the_subject_case_and_the_explanation_deadline() -> None:
    _, case, _ = facts_of((timedelta(0), report()), (timedelta(days=10), tick()))
    assert case is not None
    referral = referral_for(case, case.version, "refer-1")
    opened = decide_proceeding(None, referral, T0 + timedelta(days=10), POLICY)
    [note] = notifications_for(opened, None)
    facts = notice_facts(note, opened[0], case, POLICY)
    text = compose(facts, POLICY, BASE_URL)
    assert facts.case_id == case.case_id and note.case_id.startswith("acc-")  # the link opens the case itself
    assert text.title == f"【移交问责】占道经营 · 案件 {case.case_id}"
    assert lines(text)["书面说明时限"].endswith("北京时间") and lines(text)["升级"] == "第4级 问责"


def test_a_reporters_contact_details_never_reach_a_units_notice() -> None:
    contact = ("13912345678", "139 1234 5678", "zhang.san@example.cn", "67771234", "张三")
    found = ladder_notices(
        description="张三 13912345678 人行道上流动摊贩",
        address="建新北路 联系人 139 1234 5678 zhang.san@example.cn 023-67771234",
    )
    channel = EmailChannel(id="m", unit=LEAD, smtp_host="h", sender="a@b.c", recipients=("d@e.f",))
    for facts in found:
        text = compose(facts, POLICY, BASE_URL)
        every = [
            plain(text),
            markdown(text),
            html(text),
            json.dumps(text.payload, ensure_ascii=False),
            json.dumps(wecom.message(text), ensure_ascii=False),
            json.dumps(dingtalk.message(text), ensure_ascii=False),
            smtp.message(channel, text).as_string(),
        ]
        for rendering in every:
            assert not any(c in rendering for c in contact), rendering
            assert "人行道上流动摊贩" not in rendering  # the free-text description stays on the case page
        assert lines(text)["问题地点"] == "建新北路 联系人 139****5678 ［邮箱已隐去］ ［电话已隐去］（甲街道）"


def test_markup_in_a_reporters_address_makes_no_link_heading_or_tag() -> None:
    text = a_notice(address="[点我](http://evil.example) <font color=red>急</font> **粗** `x`")
    md, page = markdown(text), html(text)
    assert "](http" not in md.replace(f"]({text.url})", "") and "<font" not in md and "**粗**" not in md
    assert "<font" not in page and "http://evil" not in page
    assert text.payload["case"]["address"].startswith("[点我](http：//evil.example)")
    assert untrusted("  一\n二\t三 " + "长" * 300).startswith("一 二 三 ") and len(untrusted("长" * 300)) == 120


def test_a_robot_message_over_its_size_limit_is_cut_at_a_line_keeping_the_link() -> None:
    content = (
        "### 标题\n" + "\n".join(f"> 第{i}行" + "字" * 60 for i in range(200)) + "\n\n[查看案件详情](https://x/cases/1)"
    )
    cut = wecom.fit(content, wecom.MAX_CONTENT_BYTES)
    assert len(cut.encode()) <= 4096 < len(content.encode()) and cut.endswith("[查看案件详情](https://x/cases/1)")
    assert cut.startswith("### 标题\n> 第0行") and "\n…\n" in cut
    assert wecom.fit("短", 4096) == "短"


@pytest.mark.parametrize("table", ["STATUS", "STAGE", "EVENT", "CHANNEL", "ROUTING_RULE"])
def test_pages_and_notices_read_one_table_of_labels(table: str) -> None:
    assert getattr(web_labels, table) is getattr(labels, table)
    missed = next(f for f in ladder_notices() if f.kind == "deadline_missed")
    assert missed.summary == f"超期：{labels.STAGE['claim']}时限已过"
