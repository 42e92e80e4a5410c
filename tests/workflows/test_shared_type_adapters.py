"""The data converter shares pydantic type adapters across the payload converters the SDK makes per workflow.

The SDK builds a new payload converter for every workflow it runs; with the stock pydantic converter each one
built its own `TypeAdapter` for the command union on a case's first command (milliseconds on the claim path).
"""

from __future__ import annotations

import uuid

import pydantic
import pytest

from rectify.domain.commands import ClaimCase, Command
from rectify.domain.types import Actor, Role
from rectify.workflows.converter import data_converter


def test_workflows_share_one_type_adapter_per_type(monkeypatch: pytest.MonkeyPatch) -> None:
    claim = ClaimCase(command_id=str(uuid.uuid4()), case_id="c-1", actor=Actor(unit_id="st_a", role=Role.UNIT))
    payloads = data_converter.payload_converter.to_payloads([claim])
    data_converter.payload_converter.from_payloads(payloads, [Command])  # the process's adapter, built once here
    built: list[object] = []
    original = pydantic.TypeAdapter.__init__

    def counting(self: pydantic.TypeAdapter, *args: object, **kwargs: object) -> None:
        built.append(args[0] if args else None)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pydantic.TypeAdapter, "__init__", counting)
    for _ in range(3):  # three workflows, three converters, as the SDK's worker makes them
        converter = data_converter._new_payload_converter()  # pyright: ignore[reportPrivateUsage]
        assert converter.from_payloads(payloads, [Command]) == [claim]
    assert built == []
