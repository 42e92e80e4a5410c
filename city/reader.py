"""Reads a city folder's files, each once (the bytes parsed are the bytes hashed), and names them in errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal, overload

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from rectify.city.errors import CityDataError
from rectify.domain.policy import Unit

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _shown(folder: Path) -> str:
    resolved = folder.resolve()
    for base in (_PACKAGE_ROOT, Path.cwd()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return resolved.as_posix()


class Reader:
    """Reads each file once (the bytes parsed are the bytes hashed) and names it in errors."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shown = _shown(folder)
        self.read: dict[str, bytes] = {}

    def name(self, file: str) -> str:
        return f"{self.shown}/{file}"

    def error(self, file: str, field: str | None, message: str) -> CityDataError:
        return CityDataError(self.name(file), field, message)

    def exists(self, file: str) -> bool:
        """Whether an optional file is in the folder (a file read is hashed; one absent is not)."""
        return (self.folder / file).is_file()

    def read_bytes(self, file: str) -> bytes:
        if file not in self.read:
            try:
                self.read[file] = (self.folder / file).read_bytes()
            except FileNotFoundError:
                raise self.error(file, None, "file is missing") from None
            except OSError as error:
                raise self.error(file, None, f"cannot be read: {error.strerror}") from None
        return self.read[file]

    def toml(self, file: str) -> dict[str, Any]:
        try:
            return tomllib.loads(self.read_bytes(file).decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise self.error(file, None, f"not valid TOML: {error}") from None

    def features(self, file: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.read_bytes(file).decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise self.error(file, None, f"not valid GeoJSON: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise self.error(file, "features", "expected a GeoJSON FeatureCollection")
        for i, feature in enumerate(data["features"]):
            if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
                raise self.error(file, f"features[{i}].properties", "expected a Feature with properties")
        return data["features"]

    def geometry(self, file: str, i: int, feature: dict[str, Any], kinds: tuple[str, ...]) -> BaseGeometry:
        where, label = f"features[{i}].geometry", _label(feature)
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, shapely.errors.GEOSException) as error:
            raise self.error(file, where, f"{label}: not a geometry: {error}") from None
        if geometry.geom_type not in kinds:
            raise self.error(file, where, f"{label}: expected {' or '.join(kinds)}, got {geometry.geom_type}")
        if geometry.is_empty or not geometry.is_valid:
            reason = "empty" if geometry.is_empty else shapely.is_valid_reason(geometry)
            raise self.error(file, where, f"{label}: invalid geometry: {reason}")
        return geometry

    @overload
    def text(self, file: str, i: int, feature: dict[str, Any], key: str, *, required: Literal[True] = True) -> str: ...
    @overload
    def text(self, file: str, i: int, feature: dict[str, Any], key: str, *, required: bool) -> str | None: ...
    def text(self, file: str, i: int, feature: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        """The feature's property `key`: a non-empty string, or None when it may be missing and is."""
        value = feature["properties"].get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            problem = "is missing" if value is None else f"must be a non-empty string, got {value!r}"
            raise self.error(file, f"features[{i}].properties.{key}", problem)
        return value

    def unit(self, file: str, i: int, feature: dict[str, Any], key: str, units: dict[str, Unit], **kw: bool) -> Any:
        value = self.text(file, i, feature, key, **kw)
        if value is not None and value not in units:
            raise self.error(file, f"features[{i}].properties.{key}", f"unknown unit {value!r} (not in units.toml)")
        return value


def _label(feature: dict[str, Any]) -> str:
    """How a feature is called in messages: its id and name, whichever it has."""
    found = feature.get("properties")
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    parts = [str(props[k]) for k in ("unit_id", "grid_id", "name") if props.get(k)]
    return " ".join(parts) or "unnamed feature"
