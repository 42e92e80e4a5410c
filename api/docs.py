"""The error responses each route can give, as the OpenAPI document states them (one place for both APIs)."""

from __future__ import annotations

from typing import Any

from rectify.api.schemas import ErrorOut, Open311Error

WHY = {
    400: "The request is malformed or breaks a rule on its input (the message names the field)",
    401: "No API key, or one that is unknown or revoked",
    403: "The key's role may not do this, or an inspector key acts outside its area (rule outside_area)",
    404: "No such thing (or none this key may see)",
    409: "Refused by the case's rules (the rule is named), or the same Idempotency-Key is still running",
    413: "The body is too large",
    415: "The file is not an accepted image (checked by content)",
    422: "The Idempotency-Key was already used for another request",
    429: "Too many requests from this key: wait Retry-After seconds",
    500: "A fault on our side; the message gives the request id to report",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "How to authenticate", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}
_REF = "#/components/schemas/"


def v1(*codes: int) -> dict[int | str, dict[str, Any]]:
    """/v1 errors: `{"error": {"message", "rule"?}}` as JSON."""
    return {code: {"model": ErrorOut, "description": WHY[code], **_headers(code)} for code in (*codes, 500)}


def open311(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Open311 errors: the specification's list of {code, description}, as JSON or XML (by the path's format);
    200 comes in both formats as well."""
    both = {"application/json": {}, "text/xml": {"schema": {"type": "string"}}}
    out: dict[int | str, dict[str, Any]] = {200: {"content": both}}
    for code in (*codes, 500):
        content = {
            "application/json": {"schema": {"type": "array", "items": {"$ref": f"{_REF}Open311Error"}}},
            "text/xml": {"schema": {"type": "string"}},
        }
        out[code] = {"model": list[Open311Error], "description": WHY[code], "content": content, **_headers(code)}
    return out


def _headers(code: int) -> dict[str, Any]:
    return {"headers": _HEADERS[code]} if code in _HEADERS else {}
