"""The JSON body of each /v1 command: the person's inputs of its entry in the command table, nothing more.

Built from domain/command_table.py, so a new entry gets its endpoint and its documented body with no code here.
The system's fields (command id, case, actor, looked-up fields) are never part of a body.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from rectify.api.inputs import Text
from rectify.api.schemas import EvidenceIn
from rectify.domain.command_table import CommandSpec, InputKind, Stream
from rectify.domain.text import Text as TextMarker

#: The most free text any city's policy may allow (domain.policy.Chars); a city's own, lower limit is the
#: decider's to apply (409, rule `invalid_text`), naming the field and the limit.
PROSE_MAX = 20_000
ID_MAX = 100


def _field(spec: CommandSpec, name: str, kind: InputKind, help: str) -> tuple[Any, Any]:
    info = spec.model.model_fields[name]
    default = ... if info.is_required() else info.default
    if kind is InputKind.PROSE:
        marker = next((m for m in info.metadata if isinstance(m, TextMarker)), None)
        least = 1 if marker is not None and marker.required else 0
        kind_of: Any = Annotated[Text, Field(min_length=least, max_length=PROSE_MAX)]
    elif kind in (InputKind.UNIT, InputKind.CASE):
        kind_of = Annotated[Text, Field(min_length=1, max_length=ID_MAX)]
    elif kind is InputKind.PHOTOS:
        kind_of = Annotated[list[EvidenceIn], Field(min_length=1 if info.is_required() else 0, max_length=20)]
        default = ... if info.is_required() else []  # optional photos (核查照片): none, as a list like the type
    else:  # hours, yes/no, a choice: the model's own type and bounds
        kind_of = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return Annotated[kind_of, Field(description=help)], default


def body_model(spec: CommandSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {i.name: _field(spec, i.name, i.kind, i.help) for i in spec.inputs}
    name = "".join(part.title() for part in spec.name.split("-")) + "Body"
    if spec.stream is Stream.PROCEEDING:
        name = "Proceeding" + name
    return create_model(name, __doc__=spec.help, **fields)
