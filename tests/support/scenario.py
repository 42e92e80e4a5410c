"""Helpers for scenario tests through TestStack: actors, evidence, points in the city."""

from __future__ import annotations

import hashlib

from rectify.city.sampling import point_in
from rectify.domain.types import Actor, EvidenceRef, Role

DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
REPORTER = Actor(unit_id="citizen", role=Role.REPORTER)
AUDITOR = Actor(unit_id="audit_office", role=Role.AUDITOR)


def unit(unit_id: str) -> Actor:
    return Actor(unit_id=unit_id, role=Role.UNIT)


def photo(label: str = "fixed") -> EvidenceRef:
    data = f"photo:{label}".encode()
    return EvidenceRef(sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type="image/jpeg")


def territorial_category(city: object) -> str:
    return next(code for code, c in city.policy.categories.items() if c.lead == "territorial")


__all__ = ["AUDITOR", "DISPATCHER", "INSPECTOR", "REPORTER", "photo", "point_in", "territorial_category", "unit"]
