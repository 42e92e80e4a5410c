"""The action forms, built from the command table: one form per entry, one field per input, by its kind.

An entry's inputs give the fields (a reason is a text area, a unit a list, hours a number, a yes/no two
choices, photos a camera input); the command model gives what is required and the policy how long text may be.
What a person posts is checked here, each problem in Chinese beside its field; the rules themselves stay the
decider's. Each form carries a signed token naming the account, the case and the action: its nonce becomes the
command id, so the same form sent twice is one command, and a form sent after the session ended is still known
to be that person's, so what they typed can wait for them to sign in again.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile

from rectify.client.evidence import EvidenceRejected, inspect_photo
from rectify.domain.command_table import CommandSpec, Input, InputKind
from rectify.domain.policy import EVIDENCE_MAX_BYTES, Policy, UnitKind
from rectify.domain.state import CaseState
from rectify.domain.text import Text, TextKind, text_problem

TOKEN_FIELD = "form_token"
#: How long a form may stay open before it is refused as stale (a new one is a reload away).
TOKEN_MAX_AGE = timedelta(days=2)
#: The most photos one form takes: the API's own cap on a command's evidence.
MAX_PHOTOS = 20
_MiB = 1024 * 1024


# -- the fields ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormField:
    name: str
    kind: InputKind
    label: str
    required: bool
    #: Value and words of each choice (units, yes/no, an enumeration).
    choices: tuple[tuple[str, str], ...] = ()
    max_chars: int | None = None


def _marker(spec: CommandSpec, name: str) -> Text | None:
    return next((m for m in spec.model.model_fields[name].metadata if isinstance(m, Text)), None)


def _choices(spec: CommandSpec, i: Input, state: CaseState, policy: Policy) -> tuple[tuple[str, str], ...]:
    if i.kind is InputKind.UNIT:  # responsible units only; the current lead unit is no change
        return tuple(
            (u.id, u.name) for u in policy.units.values() if u.kind is not UnitKind.OFFICE and u.id != state.lead_unit
        )
    if i.kind is InputKind.YES_NO:
        values, words = i.choices or ("yes", "no"), i.choice_labels or ("是", "否")
        return tuple(zip(values, words, strict=True))
    if i.kind is InputKind.CHOICE:
        choices = spec.model.model_fields[i.name].annotation
        assert isinstance(choices, type) and issubclass(choices, Enum), f"{spec.name}.{i.name} is not an Enum"
        return tuple((str(v.value), str(v.value)) for v in choices)
    return ()


def fields_for(spec: CommandSpec, state: CaseState, policy: Policy) -> tuple[FormField, ...]:
    found = []
    limits = policy.text_limits()
    for i in spec.inputs:
        model_field = spec.model.model_fields[i.name]
        marker = _marker(spec, i.name)
        # Free text is required where its marker says so (a reason); anything else where the model has no default.
        required = bool(marker and marker.required) if i.kind is InputKind.PROSE else model_field.is_required()
        found.append(
            FormField(
                name=i.name,
                kind=i.kind,
                label=i.label,
                required=required,
                choices=_choices(spec, i, state, policy),
                max_chars=limits.get(marker.kind) if marker else None,
            )
        )
    return tuple(found)


# -- reading a posted form ------------------------------------------------------------------------------------
@dataclass
class Posted:
    """A posted form: the inputs as the command takes them, what was typed (to show again), and what is wrong."""

    inputs: dict[str, Any] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Photo bytes by input name, checked by content, not yet stored.
    photos: dict[str, list[bytes]] = field(default_factory=dict)


def _text(f: FormField, value: str, kind: TextKind = TextKind.NOTE) -> tuple[Any, str | None]:
    value = value.replace("\r\n", "\n")
    if f.max_chars is not None and len(value) > f.max_chars:
        return None, f"{f.label}不能超过 {f.max_chars} 个字（现有 {len(value)} 个字）"
    if not value.strip():
        return "", (f"请填写{f.label}" if f.required else None)
    if text_problem(value, kind, None) is not None:
        return None, f"{f.label}含有无法保存的控制字符，请删除后再提交"
    return value.strip(), None


def _hours(spec: CommandSpec, f: FormField, value: str) -> tuple[Any, str | None]:
    if not value.strip():
        return None, f"请填写{f.label}"
    try:
        number = float(value.strip().replace("，", ".").replace(",", "."))
    except ValueError:
        return None, f"{f.label}请填写数字，例如 4 或 3.5"
    if not math.isfinite(number):
        return None, f"{f.label}请填写数字，例如 4 或 3.5"
    info = spec.model.model_fields[f.name]  # the model's own bounds, told in words
    try:
        bounded: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        TypeAdapter(bounded).validate_python(number)
    except ValidationError:
        upper = next((float(m.le) for m in info.metadata if getattr(m, "le", None) is not None), math.inf)
        return None, f"{f.label}须大于 0，且不超过 {upper:g} 小时"
    return number, None


def _photo_files(form: FormData, name: str) -> list[UploadFile]:
    return [v for v in form.getlist(name) if isinstance(v, UploadFile) and (v.filename or v.size)]


async def _photos(f: FormField, form: FormData) -> tuple[list[bytes], str | None]:
    files = _photo_files(form, f.name)
    if not files:
        return [], (f"请拍摄或选择{f.label}" if f.required else None)
    if len(files) > MAX_PHOTOS:
        return [], f"{f.label}一次最多 {MAX_PHOTOS} 张"
    found = []
    for n, upload in enumerate(files, 1):
        data = await upload.read(EVIDENCE_MAX_BYTES + 1)
        problem = photo_problem(data, f"第 {n} 张照片" if len(files) > 1 else "照片")
        if problem:
            return [], problem
        found.append(data)
    return found, None


def photo_problem(data: bytes, which: str = "照片") -> str | None:
    """What is wrong with a photo, in words beside its field (client/evidence.py's checks), or None."""
    try:
        inspect_photo(data)
    except EvidenceRejected as rejected:
        return photo_words(rejected, data, which)
    return None


def photo_words(rejected: EvidenceRejected, data: bytes, which: str = "照片") -> str:
    """A refusal of client/evidence.py's checks, as said beside the photo's field."""
    if rejected.status == 413:
        return f"{which}超过 {EVIDENCE_MAX_BYTES // _MiB} MB，请压缩或重新拍摄"
    if not data:
        return f"{which}是空文件，请重新选择"
    return f"{which}不是可接受的图片（仅限 JPEG、PNG 或 WebP 格式的照片）"


async def read_posted(spec: CommandSpec, fields: tuple[FormField, ...], form: FormData) -> Posted:
    """The form's fields checked one by one; every problem found, not only the first."""
    posted = Posted()
    for f in fields:
        raw = form.get(f.name)
        value = raw if isinstance(raw, str) else ""
        if f.kind is not InputKind.PHOTOS:
            posted.typed[f.name] = value
        problem: str | None
        if f.kind is InputKind.PROSE:
            parsed, problem = _text(f, value)
        elif f.kind is InputKind.HOURS:
            parsed, problem = _hours(spec, f, value)
        elif f.kind is InputKind.PHOTOS:
            posted.photos[f.name], problem = await _photos(f, form)
            parsed = None
        elif f.kind is InputKind.YES_NO:
            values = [v for v, _ in f.choices]
            parsed, problem = (value == values[0], None) if value in values else (None, f"请选择{f.label}")
        elif f.kind in (InputKind.UNIT, InputKind.CHOICE):
            known = {v for v, _ in f.choices}
            parsed, problem = (value, None) if value in known else (None, f"请选择{f.label}")
        else:  # another case's id
            parsed, problem = _text(f, value.strip()[:200], TextKind.NAME)
            if problem is None and (not parsed or len(parsed) > 100):
                problem = f"请填写{f.label}的编号" if not parsed else f"{f.label}编号不超过 100 个字符"
        if problem:
            posted.errors[f.name] = problem
        elif f.kind is not InputKind.PHOTOS and not (parsed == "" and not f.required):
            posted.inputs[f.name] = parsed
    return posted


# -- form tokens -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormToken:
    name: str  # the account it was served to
    case_id: str
    action: str
    nonce: str

    def command_id(self) -> str:
        """The command this form makes, the same however often it is sent."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rectify/web/{self.name}/{self.case_id}/{self.action}/{self.nonce}"))


class FormTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="rectify.web.form")

    def issue(self, name: str, case_id: str, action: str) -> str:
        return self._serializer.dumps({"n": name, "c": case_id, "a": action, "x": secrets.token_urlsafe(12)})

    def read(self, token: str | None) -> FormToken | None:
        """The token's account, case, action and nonce; None when it is missing, forged or too old."""
        if not token or len(token) > 1000:
            return None
        try:
            data = self._serializer.loads(token, max_age=int(TOKEN_MAX_AGE.total_seconds()))
            return FormToken(str(data["n"]), str(data["c"]), str(data["a"]), str(data["x"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
