"""The SDK's errors, and how a refusal from the rules, a model or a workflow becomes one of them."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from rectify.domain.errors import DomainError


class RectifyError(Exception):
    """Base of the SDK's errors."""


class CaseNotFound(RectifyError):
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id}")


class CommandRejected(RectifyError):
    """The rules refused the command; nothing was written. `rule` names the rule."""

    def __init__(self, message: str, *, rule: str, case_id: str | None = None, status: str | None = None) -> None:
        self.rule, self.case_id, self.status = rule, case_id, status
        super().__init__(message)


class ServerUnavailable(RectifyError):
    """Temporal or PostgreSQL could not be reached."""


def rejected(error: DomainError) -> CommandRejected:
    return CommandRejected(str(error), rule=error.rule, case_id=error.case_id, status=error.status)


def invalid(error: ValidationError, case_id: str | None) -> CommandRejected:
    """A field the command's model refuses, named, without echoing the input."""
    first = error.errors(include_input=False, include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "command"
    rule = "invalid_text" if first["type"] == "string_unicode" else "invalid_command"
    return CommandRejected(f"{field}: {first['msg']}", rule=rule, case_id=case_id)


def from_failure(error: BaseException, case_id: str) -> CommandRejected:
    """A workflow's refusal (an update or the workflow itself failed), as the rejection it carries."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and cause.type == "CommandRejected":
        details: dict[str, Any] = cause.details[0] if cause.details else {}
        return CommandRejected(
            cause.message, rule=details.get("rule", "domain"), case_id=case_id, status=details.get("status")
        )
    # A payload the worker's model refused (a client that skipped these checks) is the caller's mistake too.
    chain = []
    while isinstance(cause, ApplicationError):
        chain.append(cause)
        cause = cause.__cause__
    refused = [c for c in chain if c.type == "ValidationError" or "Failed decoding arguments" in c.message]
    if refused:
        return CommandRejected(chain[-1].message, rule="invalid_command", case_id=case_id)
    message = chain[0].message if chain else str(error)
    return CommandRejected(message, rule="failed", case_id=case_id)
