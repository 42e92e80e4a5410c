"""Typed domain errors. Each names the case, its status, and the rule that was not met."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the rules refuse. Nothing is written when one is raised."""

    rule: str = "domain"

    def __init__(self, message: str, *, case_id: str | None = None, status: str | None = None) -> None:
        self.case_id = case_id
        self.status = status
        self.message = message
        where = f"case {case_id}" if case_id else "intake"
        state = f" (status {status})" if status else ""
        super().__init__(f"{where}{state}: {message} [rule: {self.rule}]")


class InvalidCommand(DomainError):
    """The command's own fields are wrong (unknown category, empty description, point outside the city)."""

    rule = "invalid_command"


class WrongStatus(DomainError):
    """The command does not apply in the case's current status."""

    rule = "wrong_status"


class NotAuthorised(DomainError):
    """The actor's role or unit may not issue this command on this case."""

    rule = "not_authorised"


class OutsideDistrict(InvalidCommand):
    rule = "outside_district"


class UnknownCategory(InvalidCommand):
    rule = "unknown_category"


class UnknownUnit(InvalidCommand):
    rule = "unknown_unit"


class InvalidText(InvalidCommand):
    """A text field holds what cannot be stored (NUL, a control character, a lone surrogate) or is too long."""

    rule = "invalid_text"


class WindowClosed(DomainError):
    """A time window in the policy has passed (e.g. reopening long after closure)."""

    rule = "window_closed"


ERRORS_BY_RULE: dict[str, type[DomainError]] = {
    cls.rule: cls
    for cls in (
        DomainError,
        InvalidCommand,
        WrongStatus,
        NotAuthorised,
        OutsideDistrict,
        UnknownCategory,
        UnknownUnit,
        InvalidText,
        WindowClosed,
    )
}
