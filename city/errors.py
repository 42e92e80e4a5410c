"""What a city folder's maintainer is told: the file, the field and the fault."""

from __future__ import annotations

from pydantic import ValidationError


class CityDataError(ValueError):
    """A city data file is missing or wrong; the message names the file, the field and the fault.

    `file` is the path as shown (relative to the package, e.g. ``city/jiangbei/categories.toml``, or
    to the working directory, else absolute); `field` is the path inside the file in the file's own
    spelling (``category[3].lead_department``, ``features[2].properties.unit_id``), or None.
    """

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file, self.field, self.problem = file, field, message
        super().__init__(f"{file}: {field + ': ' if field else ''}{message}")


def validation_error(file: str, prefix: str, error: ValidationError) -> CityDataError:
    first = error.errors()[0]
    field = ".".join([prefix, *(str(p) for p in first["loc"])]).strip(".")
    got = first.get("input")
    detail = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return CityDataError(file, field or None, first["msg"] + detail)
