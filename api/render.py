"""Bodies as JSON or XML, the same data either way; errors as Open311's list or /v1's object.

Every error a client sees comes from `error_response`: Open311 paths get the GeoReport v2 list of
{code, description} in the format the path asks for, /v1 paths `{"error": {"message": …}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response

#: The XML element of each Open311 list and of its items.
XML_NAMES = {"services": "service", "service_requests": "request", "errors": "error"}
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
#: Where a client that presented no key, or a key we do not know, is told how to authenticate.
AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="rectify"'}


def _fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(parent, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(parent, "value" if not isinstance(item, dict) else parent.tag.rstrip("s")), item)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def to_xml(root: str, items: list[dict] | dict) -> bytes:
    element = ET.Element(root)
    if isinstance(items, dict):
        _fill(element, items)
    else:
        for item in items:
            _fill(ET.SubElement(element, XML_NAMES.get(root, "item")), item)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")


def respond(
    fmt: str, root: str, body: list[dict] | dict, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status, media_type=XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def errors(fmt: str, status: int, description: str, headers: Mapping[str, str] | None = None) -> Response:
    """The specification's error shape: a list of {code, description}."""
    return respond(fmt, "errors", [{"code": status, "description": description}], status, headers)


def format_of(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def error_response(path: str, status: int, detail: object, headers: Mapping[str, str] | None = None) -> Response:
    """An error in the shape the path's API uses."""
    if path.startswith("/open311/"):
        return errors(format_of(path), status, detail if isinstance(detail, str) else str(detail), headers)
    body = detail if isinstance(detail, dict) else {"message": str(detail)}
    return JSONResponse({"error": body}, status_code=status, headers=headers)
