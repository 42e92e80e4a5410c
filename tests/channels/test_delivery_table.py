"""The `[delivery]` table of channels.toml: the retry rule and the circuit, and mistakes named by file and field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.channels.circuit import CircuitPolicy
from rectify.channels.config import ChannelConfigError, parse_channels
from rectify.channels.relay import options_for
from rectify.channels.retry import RetryPolicy


def test_without_a_delivery_table_the_documented_defaults_hold() -> None:
    options = options_for(parse_channels({}, env={}), "https://x.invalid")
    assert options.retry == RetryPolicy() and options.circuit == CircuitPolicy()
    assert RetryPolicy().first_delay == timedelta(seconds=15) and CircuitPolicy().cool_down == timedelta(minutes=1)


def test_a_delivery_table_sets_the_retry_rule_and_the_circuit() -> None:
    raw = {
        "delivery": {
            "first_delay_s": 5,
            "max_delay_s": 600,
            "max_attempts": 8,
            "give_up_after_h": 6,
            "failures_to_open": 3,
            "cool_down_s": 120,
            "jitter": 0.25,
        }
    }
    options = options_for(parse_channels(raw, env={}), "https://x.invalid")
    assert options.retry == RetryPolicy(
        first_delay=timedelta(seconds=5),
        max_delay=timedelta(minutes=10),
        max_attempts=8,
        give_up_after=timedelta(hours=6),
        jitter=0.25,
    )
    assert options.circuit == CircuitPolicy(failures_to_open=3, cool_down=timedelta(minutes=2))


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"jitter": 2}, "delivery.jitter"),
        ({"retries": 3}, "delivery.retries"),
        ({"cool_down_s": 0}, "delivery.cool_down_s"),
    ],
)
def test_a_wrong_delivery_field_is_named(table: dict, field: str) -> None:
    with pytest.raises(ChannelConfigError, match=rf"^channels\.toml: {field}: "):
        parse_channels({"delivery": table}, env={})
