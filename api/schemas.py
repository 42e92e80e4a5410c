"""The shapes the API takes and gives, as the OpenAPI document states them (and schemathesis checks)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from rectify.api.inputs import Text
from rectify.client import MEDIA_URL
from rectify.domain.types import EvidenceRef, Point
from rectify.store.projections import CaseRow

# -- Open311 GeoReport v2 ---------------------------------------------------------------------------


class ReportForm(BaseModel):
    """POST requests: the specification's form fields (lat and long are required here: an address alone
    cannot be located). Reporters' contacts go to their own table, never into the record."""

    api_key: Annotated[Text, Field(max_length=200)] = ""
    service_code: Annotated[Text, Field(min_length=1, max_length=100)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    long: Annotated[float, Field(ge=-180, le=180)]
    address_string: Annotated[Text, Field(max_length=500)] = ""
    description: Annotated[Text, Field(max_length=20_000)] = ""
    media_url: Annotated[str, Field(max_length=2000, pattern=f"^({MEDIA_URL})?$")] = ""  # no NUL fits it
    location_detail: Annotated[Text, Field(alias="attribute[location_detail]", max_length=200)] = ""
    email: Annotated[Text, Field(max_length=200)] = ""
    first_name: Annotated[Text, Field(max_length=100)] = ""
    last_name: Annotated[Text, Field(max_length=100)] = ""
    phone: Annotated[Text, Field(max_length=50)] = ""
    device_id: Annotated[Text, Field(max_length=200)] = ""
    account_id: Annotated[Text, Field(max_length=200)] = ""

    model_config = ConfigDict(populate_by_name=True)


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class Created(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str


class RequestOut(BaseModel):
    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str


class Open311Error(BaseModel):
    code: int
    description: str


# -- /v1 --------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    #: The domain's rule, when the rules refused a command (409); `outside_area` for an inspector key's area (403).
    rule: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class CaseList(BaseModel):
    cases: list[CaseRow]
    next_cursor: str | None


class CaseDetail(BaseModel):
    case: CaseRow
    #: Every event of the case, in order (see the event types in domain/events.py).
    history: list[dict[str, Any]]


class CommandOut(BaseModel):
    #: The case as it stands after the command.
    case: dict[str, Any]
    events: list[dict[str, Any]]


class EvidenceOut(BaseModel):
    evidence: EvidenceRef
    #: EXIF facts read from the photo: taken_at, gps.
    exif: dict[str, Any]


class EvidenceIn(BaseModel):
    """A photo uploaded before (POST /v1/evidence) by the acting unit, as that upload returned it."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1)]
    media_type: Annotated[Text, Field(min_length=1, max_length=100)]
    location: Point | None = None


class ProceedingOut(BaseModel):
    #: The proceeding as it stands after the command.
    proceeding: dict[str, Any]
    events: list[dict[str, Any]]
