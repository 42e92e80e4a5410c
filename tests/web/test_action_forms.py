"""The action forms built from the command table (web/forms.py): their fields, what a posted form may hold (each
problem in Chinese beside its field), the form token that makes a double submit one command, and the decider's
refusals told in words (web/rejections.py)."""

from __future__ import annotations

import io

import pytest
from starlette.datastructures import FormData, UploadFile

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.client import CommandRejected
from rectify.domain import commands as c
from rectify.domain.command_table import BY_NAME, Stream
from rectify.domain.decider import decide
from rectify.domain.errors import DomainError
from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.state import fold
from rectify.domain.types import Actor, Role
from rectify.web.forms import FormTokens, fields_for, read_posted
from rectify.web.rejections import in_words
from tests.support.browser import photo
from tests.support.given import T0, case_id_for, report, routing

POLICY = load_city(DEFAULT_CITY_DIR).policy
LEAD = "st_guanyinqiao"
UNIT = Actor(unit_id=LEAD, role=Role.UNIT)
DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
CASE = case_id_for("forms-1")


def spec(name: str):
    return BY_NAME[Stream.CASE][name]


def dispatched():
    """A 占道经营 case (2 working hours to rectify) dispatched to 观音桥街道."""
    command = report("forms-1", routing=routing(LEAD).model_copy(update={"territorial_unit": LEAD}))
    return fold(decide(None, command, T0, POLICY))


def upload(data: bytes, name: str = "photo.jpg") -> UploadFile:
    return UploadFile(io.BytesIO(data), size=len(data), filename=name)


async def post(name: str, *pairs: tuple[str, object]):
    s = spec(name)
    return await read_posted(s, fields_for(s, dispatched(), POLICY), FormData(list(pairs)))


def test_each_input_becomes_a_field_with_the_tables_chinese_label() -> None:
    state = dispatched()
    shapes = {
        name: [(f.name, f.kind.value, f.label, f.required) for f in fields_for(spec(name), state, POLICY)]
        for name in ("claim", "dispute", "submit", "verify", "extend", "reassign")
    }
    assert shapes["claim"] == []
    assert shapes["dispute"] == [("reason", "prose", "退单理由", True)]
    assert shapes["submit"] == [("evidence", "photos", "办结照片", True), ("note", "prose", "整改说明", False)]
    assert shapes["verify"] == [
        ("passed", "yes_no", "核查结果", True),
        ("note", "prose", "核查意见", False),
        ("evidence", "photos", "核查照片", False),
    ]
    assert shapes["extend"] == [("hours", "hours", "延期时长（小时）", True), ("reason", "prose", "延期理由", True)]
    to_unit = fields_for(spec("reassign"), state, POLICY)[0]
    units = dict(to_unit.choices)
    assert LEAD not in units and "office_command" not in units  # no change, and no office, to choose
    assert units["st_huaxinjie"] == "华新街街道"
    assert fields_for(spec("dispute"), state, POLICY)[0].max_chars == POLICY.text.reason_max_chars


async def test_text_is_required_where_the_model_requires_it_and_bounded_by_the_policy() -> None:
    assert (await post("dispute", ("reason", "  "))).errors == {"reason": "请填写退单理由"}
    long = "很" * (POLICY.text.reason_max_chars + 1)
    assert (await post("dispute", ("reason", long))).errors == {
        "reason": "退单理由不能超过 2000 个字（现有 2001 个字）"
    }
    assert (await post("dispute", ("reason", "a\x00b"))).errors == {
        "reason": "退单理由含有无法保存的控制字符，请删除后再提交"
    }
    fine = await post("dispute", ("reason", " 不属本街道\r\n辖区 "))
    assert (fine.errors, fine.inputs) == ({}, {"reason": "不属本街道\n辖区"})
    optional = await post("verify", ("passed", "pass"), ("note", ""))
    assert (optional.errors, optional.inputs) == ({}, {"passed": True})  # the model's default, not an empty note


@pytest.mark.parametrize(
    ("typed", "error", "value"),
    [
        ("", "请填写延期时长（小时）", None),
        ("三小时", "延期时长（小时）请填写数字，例如 4 或 3.5", None),
        ("nan", "延期时长（小时）请填写数字，例如 4 或 3.5", None),
        ("0", "延期时长（小时）须大于 0，且不超过 2160 小时", None),
        ("99999", "延期时长（小时）须大于 0，且不超过 2160 小时", None),
        ("3，5", None, 3.5),
        (" 7 ", None, 7.0),
    ],
)
async def test_hours_are_a_number_within_the_models_bounds(typed: str, error: str | None, value: float | None) -> None:
    posted = await post("extend", ("hours", typed), ("reason", "需审批"))
    assert posted.errors.get("hours") == error
    assert posted.inputs.get("hours") == value
    assert posted.typed["hours"] == typed  # shown again as typed


async def test_choices_must_be_one_of_those_offered() -> None:
    assert (await post("verify", ("note", "x"))).errors == {"passed": "请选择核查结果"}
    assert (await post("verify", ("passed", "maybe"))).errors == {"passed": "请选择核查结果"}
    assert (await post("verify", ("passed", "fail"))).inputs == {"passed": False}
    assert (await post("reassign", ("to_unit", LEAD), ("reason", "x"))).errors == {"to_unit": "请选择改派至"}
    assert (await post("reassign", ("to_unit", "st_huaxinjie"), ("reason", "x"))).inputs["to_unit"] == "st_huaxinjie"


async def test_photos_are_checked_by_content_and_size_before_anything_is_kept() -> None:
    good = photo((10, 20, 30), (40, 50, 60))
    assert (await post("submit", ("note", "x"))).errors == {"evidence": "请拍摄或选择办结照片"}
    text = await post("submit", ("evidence", upload(b"not a photo at all", "fake.jpg")))
    assert text.errors == {"evidence": "照片不是可接受的图片（仅限 JPEG、PNG 或 WebP 格式的照片）"}
    big = await post("submit", ("evidence", upload(good)), ("evidence", upload(b"\xff" * (EVIDENCE_MAX_BYTES + 1))))
    assert big.errors == {"evidence": "第 2 张照片超过 10 MB，请压缩或重新拍摄"}
    ok = await post("submit", ("evidence", upload(good)), ("note", "已清理"))
    assert (ok.errors, ok.photos, ok.inputs) == ({}, {"evidence": [good]}, {"note": "已清理"})
    assert (await post("verify", ("passed", "pass"))).photos == {"evidence": []}  # optional: none is fine


def test_a_form_token_names_one_command_and_cannot_be_forged() -> None:
    tokens = FormTokens("s" * 40)
    token = tokens.issue("li.na", CASE, "claim")
    read = tokens.read(token)
    assert read is not None and (read.name, read.case_id, read.action) == ("li.na", CASE, "claim")
    assert read.command_id() == tokens.read(token).command_id()  # the same form, the same command
    assert tokens.read(tokens.issue("li.na", CASE, "claim")).command_id() != read.command_id()  # a new form
    assert FormTokens("t" * 40).read(token) is None
    assert tokens.read(token[:-2] + "xx") is None
    assert tokens.read("") is None and tokens.read(None) is None


def _refusal(name: str, state, actor: Actor, **fields):
    command = spec(name).model(command_id="x", case_id=state.case_id, actor=actor, **fields)
    with pytest.raises(DomainError) as caught:
        decide(state, command, state.opened_at, POLICY)
    rejected = CommandRejected(str(caught.value), rule=caught.value.rule, case_id=state.case_id)
    return in_words(spec(name), rejected, state, actor.role, POLICY)


def test_the_deciders_refusal_is_told_as_its_rule_in_words() -> None:
    state = dispatched()
    other = _refusal("claim", state, Actor(unit_id="st_huaxinjie", role=Role.UNIT))
    assert (other.rule, other.words) == ("not_authorised", "只有本案的牵头单位（观音桥街道）可以认领。")
    claimed = fold(decide(state, c.ClaimCase(command_id="k", case_id=CASE, actor=UNIT), state.opened_at, POLICY), state)
    again = _refusal("claim", claimed, UNIT)
    assert again.rule == "wrong_status"
    assert again.words.startswith("案件当前为「整改中」，此时不能认领。")
    too_much = _refusal("extend", claimed, UNIT, hours=5, reason="需审批")
    assert too_much.rule == "window_closed"
    assert too_much.words.startswith("延期已达上限：每案最多延期 2 次，累计不超过 2 小时（该类别整改时限的 1 倍）")
    same = _refusal("reassign", claimed, DISPATCHER, to_unit=LEAD, reason="x")
    assert same.words == "改派的单位须不同于当前牵头单位；如认为原派遣正确，请选择「维持派遣」。"
