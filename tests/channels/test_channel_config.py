"""channels.toml: the sample city sends nowhere; secrets come from the mapping given; errors name file and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rectify.channels.config import (
    ChannelConfigError,
    DingTalkChannel,
    EmailChannel,
    WebhookChannel,
    load_channels,
    parse_channels,
)
from rectify.city import DEFAULT_CITY_DIR, load_city
from tests.support.given import report, tick
from tests.support.notices import facts_of, ladder_notices

UNITS = {"st_a", "st_b", "dept_x"}


def test_the_sample_city_has_channels_of_every_kind_and_sends_nowhere() -> None:
    city = load_city(DEFAULT_CITY_DIR)
    book = load_channels(DEFAULT_CITY_DIR, env={}, units=city.policy.units)
    assert sorted(c.kind for c in book.channels) == ["dingtalk", "email", "webhook", "wecom"]
    assert not any(c.enabled for c in book.channels)
    assert all(c.url.startswith("env:") for c in book.channels if c.kind in {"wecom", "dingtalk"})
    for facts in ladder_notices():
        for unit in city.policy.units:
            assert book.for_notice(facts.model_copy(update={"unit": unit})) == []


def test_enabled_channels_take_their_units_notices_with_secrets_from_the_mapping_given() -> None:
    raw = {
        "channel": [
            {"id": "a-hook", "unit": "st_a", "kind": "webhook", "url": "env:HOOK_URL", "secret": "env:HOOK_SECRET"},
            {
                "id": "a-leader",
                "unit": "st_a",
                "role": "主要负责人",
                "kind": "dingtalk",
                "url": "https://robot.example.invalid/robot/send?access_token=t",
                "secret": "env:DING",
                "kinds": ["escalation_raised"],
                "min_level": 2,
            },
            {"id": "b-wecom", "unit": "st_b", "kind": "wecom", "url": "https://w.example.invalid/send?key=k"},
            {"id": "a-off", "unit": "st_a", "kind": "wecom", "url": "env:NOBODY_SET_THIS", "enabled": False},
        ]
    }
    env = {"HOOK_URL": "https://hook.example.invalid/n", "HOOK_SECRET": "s" * 20, "DING": "SECabc"}
    book = parse_channels(raw, env=env, units=UNITS)
    hook, leader = book.channels[0], book.channels[1]
    assert isinstance(hook, WebhookChannel) and (hook.url, hook.secret) == (env["HOOK_URL"], env["HOOK_SECRET"])
    assert isinstance(leader, DingTalkChannel) and leader.secret == "SECabc"
    assert "SECabc" not in repr(leader) and "s" * 20 not in repr(book)  # secrets stay out of logs
    taken = {f.kind + str(f.level): [c.id for c in book.for_notice(f)] for f in ladder_notices()}
    assert taken == {
        "case_dispatched0": ["a-hook"],
        "deadline_missed0": ["a-hook"],
        "escalation_raised1": ["a-hook"],
        "escalation_raised2": ["a-hook", "a-leader"],
    }
    assert book.get("b-wecom") is not None and book.get("nope") is None


def test_no_channels_file_means_no_channels(tmp_path: Path) -> None:
    assert load_channels(tmp_path, env={}).channels == ()


@pytest.mark.parametrize(
    ("toml", "env", "where", "problem"),
    [
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = "sms"', {}, "channel[0].kind", "must be one of"),
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = ["wecom"]', {}, "channel[0].kind", "must be one of"),
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "ftp://a"', {}, "channel[0].url", "http"),
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "https:///a"', {}, "channel[0].url", "host"),
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "http://a:99999/"', {}, "channel[0].url", "URL"),
        ('[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "http://[::1/"', {}, "channel[0].url", "URL"),
        (
            '[[channel]]\nid = "x"\nunit = "st_a"\nkind = "webhook"\nurl = "https://a"\nsecret = "short-secret"',
            {},
            "channel[0].secret",
            "at least 16 characters",
        ),
        (
            '[[channel]]\nid = "x"\nunit = "st_a"\nkind = "dingtalk"\nurl = "env:ROBOT"',
            {},
            "channel[0].url",
            "environment variable ROBOT is not set",
        ),
        ('[[channel]]\nid = "x"\nunit = "st_zz"\nkind = "wecom"\nurl = "https://a"', {}, "channel[0].unit", "st_zz"),
        (
            '[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "https://a"\n'
            '[[channel]]\nid = "x"\nunit = "st_b"\nkind = "wecom"\nurl = "https://b"',
            {},
            "channel[1].id",
            "duplicate channel id 'x'",
        ),
        (
            '[[channel]]\nid = "m"\nunit = "st_a"\nkind = "email"\nsmtp_host = "h"\nsender = "a@b"\nrecipients = []',
            {},
            "channel[0].recipients",
            "at least 1",
        ),
        (
            '[[channel]]\nid = "x"\nunit = "st_a"\nkind = "wecom"\nurl = "https://a"\ncolour = 1',
            {},
            "channel[0].colour",
            "Extra",
        ),
        ('[channels]\nid = "x"', {}, "channels", "unknown section"),
        ("[[channel]\n", {}, None, "not valid TOML"),
    ],
)
def test_a_wrong_channels_file_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, toml: str, env: dict[str, str], where: str | None, problem: str
) -> None:
    (tmp_path / "channels.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ChannelConfigError) as caught:
        load_channels(tmp_path, env=env, units=UNITS, shown="city/test/channels.toml")
    error = caught.value
    assert (error.file, error.field) == ("city/test/channels.toml", where)
    assert problem in error.problem
    assert str(error).startswith(f"city/test/channels.toml: {where + ': ' if where else ''}")


def test_a_refused_secret_is_not_repeated_in_the_error() -> None:
    raw = {"channel": [{"id": "x", "unit": "st_a", "kind": "webhook", "url": "https://a", "secret": "pw123"}]}
    with pytest.raises(ChannelConfigError) as caught:
        parse_channels(raw, env={}, units=UNITS)
    assert caught.value.field == "channel[0].secret" and "pw123" not in str(caught.value)


def test_a_role_channel_can_take_only_the_top_rungs_and_proceedings() -> None:
    found, _, _ = facts_of((timedelta(0), report()), (timedelta(days=10), tick()))
    mail = EmailChannel(
        id="leader",
        unit="st_a",
        role="主要负责人",
        smtp_host="h",
        sender="a@b.c",
        recipients=("d@e.f",),
        kinds=("escalation_raised", "proceeding_opened"),
        min_level=3,
    )
    assert [(f.kind, f.level) for f in found if mail.takes(f)] == [("escalation_raised", 3), ("escalation_raised", 4)]
