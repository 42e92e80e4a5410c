"""Open311 bodies as JSON or XML, the same data either way; errors as the specification's list."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response

#: The XML element of each Open311 list and of its items.
XML_NAMES = {"services": "service", "service_requests": "request", "errors": "error"}


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


def respond(fmt: str, root: str, body: list[dict] | dict, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status, media_type="text/xml; charset=utf-8")
    return JSONResponse(body, status_code=status)


def errors(fmt: str, status: int, description: str) -> Response:
    """The specification's error shape: a list of {code, description}."""
    return respond(fmt, "errors", [{"code": status, "description": description}], status)
