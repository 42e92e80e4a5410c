"""What the HTTP layer asks of Rectify: keys, intake with duplicate attachment, and reporters' contacts.

Kept apart from the routes so the same rules hold for Open311 and /v1, and so tests can reach them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from rectify.api.keys import ApiKey, ApiKeyError, KeyStore
from rectify.client import CaseNotFound, CommandRejected, RectifyClient
from rectify.domain import commands as c
from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.router import metres_between
from rectify.domain.types import OPEN_STATUSES, Channel, Point
from rectify.store.contacts import save_contact
from rectify.store.evidence import EvidenceRecords, EvidenceStore
from rectify.store.idempotency import IdempotencyStore
from rectify.store.projections import CaseRow
from rectify.store.read_models import CaseQueries

log = structlog.get_logger("rectify.api")


class ApiService:
    def __init__(self, client: RectifyClient, evidence_dir: Path, max_evidence_bytes: int = EVIDENCE_MAX_BYTES) -> None:
        self.client, self.store, self.city = client, client.store, client.city
        self.keys = KeyStore(client.store.pool)
        self.cases = CaseQueries(client.store.pool)
        self.uploads = EvidenceRecords(client.store.pool)
        self.idempotency = IdempotencyStore(client.store.pool)
        self.evidence = EvidenceStore(evidence_dir)
        self.max_evidence_bytes = max_evidence_bytes

    async def key_for(self, presented: str) -> ApiKey | None:
        if not presented:
            return None
        try:
            return await self.keys.verify(presented)
        except ApiKeyError:
            return None

    async def duplicate_of(self, category: str, at: Point, now: datetime) -> tuple[CaseRow, float] | None:
        """The nearest open case of the category within its radius, opened within the policy's window."""
        policy = self.city.policy
        spec = policy.categories[category]
        radius = spec.duplicate_radius_m
        window = policy.duplicate_window_hours if spec.duplicate_window_hours is None else spec.duplicate_window_hours
        degrees = radius / 100_000 + 1e-4  # a generous box first (1° ≥ 100 km here), exact distance after
        box = (at.lon - degrees * 1.5, at.lat - degrees, at.lon + degrees * 1.5, at.lat + degrees)
        rows = await self.cases.open_cases_near(category, OPEN_STATUSES, now - timedelta(hours=window), box)
        near = sorted((metres_between(at, Point(lon=r.lon, lat=r.lat)), r.case_id, r) for r in rows)
        return (near[0][2], near[0][0]) if near and near[0][0] <= radius else None

    async def report(
        self,
        key: ApiKey,
        category: str,
        description: str,
        location: Point,
        address: str | None,
        media_url: str | None,
        report_key: str,
        contact: dict[str, str],
    ) -> dict[str, Any]:
        """Open a case, or attach the report to the open case it repeats. Contacts go to their own table.

        The report is checked by the rules first, whichever way it then goes, so the same text gets the
        same answer at a fresh spot and at one that already has a case. A valid report is never refused for
        the target's sake: a target still opening makes the attach wait (the case workflow holds it until
        the report is recorded), and a target that closed, merged or ended in the meantime refuses the
        attach, so the report is filed as a case of its own instead.
        """
        report = self.client.prepare_report(
            idempotency_key=report_key,
            category=category,
            description=description,
            location=location,
            channel=Channel.OPEN311,
            actor=key.actor,
            address=address,
            media_url=media_url,
        )
        # A report this key already opened is that case, never a duplicate of itself.
        own = await self.store.get_case(report.case_id)
        duplicate = None if own is not None else await self.duplicate_of(category, location, datetime.now(UTC))
        if duplicate is not None:
            row, distance = duplicate
            try:
                attach = c.AttachDuplicate(
                    command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, report_key)),
                    case_id=row.case_id,
                    actor=key.actor,
                    idempotency_key=report_key,
                    description=report.description.strip(),
                    location=location,
                    channel=Channel.OPEN311,
                    distance_m=round(distance, 1),
                )
                await self.client.execute(attach)
            except (CommandRejected, CaseNotFound, ValidationError) as refused:
                # Nothing was written to the target; the report goes on as a case of its own.
                log.info("intake.duplicate_refused", case_id=row.case_id, reason=str(refused)[:200])
                duplicate = None
        if duplicate is not None:
            case_id = row.case_id
            notice = f"同一问题已在办理中（{distance:.0f} 米内的案件 {case_id}），本次举报已并入该案件"
        else:
            ref = await self.client.open_report(report)
            case_id = ref.case_id
            unit = self.city.policy.units.get(ref.lead_unit or "")
            notice = f"已受理，由{unit.name if unit else ref.lead_unit}负责整改"
        if contact:
            await save_contact(self.store.pool, case_id, report_key, contact)
        return {"service_request_id": case_id, "service_notice": notice, "account_id": contact.get("account_id", "")}
