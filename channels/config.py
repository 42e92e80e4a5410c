"""Where each unit's notices go: the channels of a city's `channels.toml`, and the loader that reads it.

A channel belongs to one unit (the recipient of the notices it takes) and may stand for one of its roles
(`role = "主要负责人"`): such a channel usually takes only some notices (`kinds`, `min_level`), for
example the rungs from 扣分 up for the leader's mailbox. Every unit's notices also go to its inbox in the
database; a unit with no channel here is told there only.

Secrets (a webhook's key, a robot's URL with its token, an SMTP password) may be written as
`env:NAME`: the loader resolves them from the mapping it is given (the edge passes `os.environ`), only for
enabled channels, so a disabled example names a variable nobody has to set.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field, ValidationError, field_validator

from rectify.channels.circuit import CircuitPolicy
from rectify.channels.retry import RetryPolicy
from rectify.config import Settings
from rectify.domain.notifications import NoticeFacts
from rectify.domain.types import Frozen

FILE_NAME = "channels.toml"
ENV_PREFIX = "env:"
#: Fields whose value may be an `env:NAME` reference (each a secret, or a URL that carries one).
SECRET_FIELDS = ("url", "secret", "username", "password")
MIN_WEBHOOK_SECRET = 16

ChannelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"  # signed JSON POST (docs/webhooks.md)
    WECOM = "wecom"  # 企业微信 group robot
    DINGTALK = "dingtalk"  # 钉钉 group robot
    EMAIL = "email"  # SMTP with STARTTLS


class ChannelConfigError(ValueError):
    """A channels file is wrong; the message names the file, the field and the fault (as CityDataError)."""

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file, self.field, self.problem = file, field, message
        super().__init__(f"{file}: {field + ': ' if field else ''}{message}")


def _http_url(value: str) -> str:
    if value.startswith(ENV_PREFIX):
        return value
    try:
        url = httpx.URL(value)
        port_ok = url.port is None or 0 < url.port < 65536
    except (httpx.InvalidURL, ValueError):
        url, port_ok = None, False
    if url is None or url.scheme not in {"http", "https"} or not url.host or not port_ok:
        raise ValueError("must be an http:// or https:// URL with a host (or env:NAME)")
    return value


class ChannelBase(Frozen):
    #: Names the endpoint in attempts, circuits and dead letters: keep it when the URL changes.
    id: ChannelId
    unit: Annotated[str, Field(min_length=1)]
    #: Who reads it, when it is a role's rather than the unit's duty desk (主要负责人, 值班室 …).
    role: str | None = None
    enabled: bool = True
    #: Only these notice kinds (case_dispatched, escalation_raised …); empty: all.
    kinds: tuple[str, ...] = ()
    #: Only notices about this rung or above (0: every notice).
    min_level: Annotated[int, Field(ge=0, le=9)] = 0

    def takes(self, facts: NoticeFacts) -> bool:
        if not self.enabled or facts.unit != self.unit:
            return False
        if self.kinds and facts.kind not in self.kinds:
            return False
        return facts.level >= self.min_level


class WebhookChannel(ChannelBase):
    kind: Literal["webhook"] = "webhook"
    url: str
    #: Signs every POST (HMAC-SHA256); shared with the receiver.
    secret: str = Field(repr=False)

    _url = field_validator("url")(_http_url)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if not value.startswith(ENV_PREFIX) and len(value) < MIN_WEBHOOK_SECRET:
            raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET} characters")
        return value


class WeComChannel(ChannelBase):
    kind: Literal["wecom"] = "wecom"
    #: The robot's webhook address, key included (…/cgi-bin/webhook/send?key=…): a secret.
    url: str = Field(repr=False)

    _url = field_validator("url")(_http_url)


class DingTalkChannel(ChannelBase):
    kind: Literal["dingtalk"] = "dingtalk"
    #: The robot's webhook address, access_token included (…/robot/send?access_token=…): a secret.
    url: str = Field(repr=False)
    #: The robot's signing secret (加签, SEC…); unset when the robot checks keywords or addresses instead.
    secret: str | None = Field(default=None, repr=False)

    _url = field_validator("url")(_http_url)


class EmailChannel(ChannelBase):
    kind: Literal["email"] = "email"
    smtp_host: Annotated[str, Field(min_length=1)]
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    username: str | None = Field(default=None, repr=False)
    password: str | None = Field(default=None, repr=False)
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    recipients: Annotated[tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")], ...], Field(min_length=1)]
    #: A CA bundle (PEM) for a server whose certificate a private CA signed; unset: the system's CAs.
    ca_file: str | None = None


Channel = Annotated[
    WebhookChannel | WeComChannel | DingTalkChannel | EmailChannel,
    Field(discriminator="kind"),
]
_MODELS: dict[str, type[ChannelBase]] = {
    "webhook": WebhookChannel,
    "wecom": WeComChannel,
    "dingtalk": DingTalkChannel,
    "email": EmailChannel,
}


class Delivery(Frozen):
    """The `[delivery]` table: the retry rule and the circuit for every channel (docs/notices.md)."""

    first_delay_s: Annotated[float, Field(gt=0, le=86_400)] = 15
    factor: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_delay_s: Annotated[float, Field(gt=0, le=86_400)] = 1800
    jitter: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 20
    give_up_after_h: Annotated[float, Field(gt=0, le=24 * 30)] = 24
    failures_to_open: Annotated[int, Field(ge=1, le=1000)] = 5
    cool_down_s: Annotated[float, Field(gt=0, le=86_400)] = 60
    #: How long a relay holds a delivery it took (renewed while it works on it); a relay that dies gives its
    #: deliveries to another after this. Longer than any one send may take.
    lease_s: Annotated[float, Field(ge=1, le=3600)] = 120

    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            first_delay=timedelta(seconds=self.first_delay_s),
            factor=self.factor,
            max_delay=timedelta(seconds=self.max_delay_s),
            jitter=self.jitter,
            max_attempts=self.max_attempts,
            give_up_after=timedelta(hours=self.give_up_after_h),
        )

    def circuit(self) -> CircuitPolicy:
        return CircuitPolicy(failures_to_open=self.failures_to_open, cool_down=timedelta(seconds=self.cool_down_s))


class ChannelBook(Frozen):
    """The channels in force: which ones take a notice, and how hard each delivery is tried."""

    channels: tuple[Channel, ...] = ()
    delivery: Delivery = Delivery()

    def for_notice(self, facts: NoticeFacts) -> list[Channel]:
        return [c for c in self.channels if c.takes(facts)]

    def get(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)


def load_channels(
    folder: Path, *, env: Mapping[str, str], units: Collection[str] | None = None, shown: str | None = None
) -> ChannelBook:
    """The book in `folder/channels.toml` (no file: no channels), secrets resolved from `env`.

    `units` (the city's unit ids) makes an unknown unit an error; `shown` is how the file is named in errors.
    """
    return load_channels_file(folder / FILE_NAME, env=env, units=units, shown=shown)


def channel_book(settings: Settings, units: Collection[str], env: Mapping[str, str]) -> ChannelBook:
    """The channels in force: the file RECTIFY_CHANNELS names (which must exist), or the city folder's
    channels.toml (none: every notice goes to the inboxes only)."""
    from rectify.city import DEFAULT_CITY_DIR

    path = settings.channels_file or (settings.city_dir or DEFAULT_CITY_DIR) / FILE_NAME
    if settings.channels_file and not path.is_file():
        raise ChannelConfigError(str(path), None, "no such file (RECTIFY_CHANNELS)")
    return load_channels_file(path, env=env, units=units)


def load_channels_file(
    path: Path, *, env: Mapping[str, str], units: Collection[str] | None = None, shown: str | None = None
) -> ChannelBook:
    """The book in the file at `path` (no file: no channels); see `load_channels`."""
    name = shown or path.as_posix()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ChannelBook()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ChannelConfigError(name, None, f"not valid TOML: {error}") from None
    except OSError as error:
        raise ChannelConfigError(name, None, f"cannot be read: {error.strerror}") from None
    return parse_channels(raw, env=env, units=units, file=name)


def parse_channels(
    raw: dict[str, Any], *, env: Mapping[str, str], units: Collection[str] | None = None, file: str = FILE_NAME
) -> ChannelBook:
    if unknown := sorted(set(raw) - {"channel", "delivery"}):
        raise ChannelConfigError(
            file, unknown[0], "unknown section (a channels file holds [[channel]] tables and one [delivery])"
        )
    try:
        delivery = Delivery.model_validate(raw.get("delivery", {}))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(["delivery", *(str(p) for p in first["loc"])])
        raise ChannelConfigError(file, field, first["msg"] + _got(first.get("input"))) from None
    tables = raw.get("channel", [])
    if not isinstance(tables, list):
        raise ChannelConfigError(file, "channel", "expected [[channel]] tables")
    found: list[ChannelBase] = []
    for i, table in enumerate(tables):
        where = f"channel[{i}]"
        kind = table.get("kind") if isinstance(table, dict) else None
        model = _MODELS.get(kind) if isinstance(kind, str) else None  # a list or table as kind is no key either
        if model is None:
            got = kind if isinstance(table, dict) else table
            raise ChannelConfigError(file, f"{where}.kind", f"must be one of {', '.join(_MODELS)} (got {got!r})")
        if table.get("enabled", True) is True:
            table = _resolved(table, env, file, where)
        try:
            channel = model.model_validate(table)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join([where, *(str(p) for p in first["loc"])])
            shown_input = "" if first["loc"] and first["loc"][-1] in SECRET_FIELDS else _got(first.get("input"))
            raise ChannelConfigError(file, field, first["msg"] + shown_input) from None
        if units is not None and channel.unit not in units:
            raise ChannelConfigError(file, f"{where}.unit", f"unknown unit {channel.unit!r} (not in units.toml)")
        if any(c.id == channel.id for c in found):
            raise ChannelConfigError(file, f"{where}.id", f"duplicate channel id {channel.id!r}")
        found.append(channel)
    return ChannelBook(channels=tuple(found), delivery=delivery)  # type: ignore[arg-type]


def _resolved(table: dict[str, Any], env: Mapping[str, str], file: str, where: str) -> dict[str, Any]:
    out = dict(table)
    for key in SECRET_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            variable = value.removeprefix(ENV_PREFIX)
            if not env.get(variable):
                raise ChannelConfigError(file, f"{where}.{key}", f"environment variable {variable} is not set")
            out[key] = env[variable]
    return out


def _got(value: object) -> str:
    return f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
