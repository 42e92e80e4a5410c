"""What the HTTP layer asks of Rectify: keys, intake (through the SDK, duplicates included), reporters' contacts.

Kept apart from the routes so the same rules hold for Open311 and /v1, and so tests can reach them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rectify.api.keys import ApiKey, ApiKeyError, KeyStore
from rectify.client import RectifyClient
from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.types import Channel, Point
from rectify.store.contacts import save_contact
from rectify.store.evidence import EvidenceRecords, EvidenceStore
from rectify.store.idempotency import IdempotencyStore
from rectify.store.read_models import CaseQueries


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
        """Open a case, or join the open case it repeats (the SDK applies the duplicate rule, as on every path).
        Contacts go to their own table, never into the record."""
        ref = await self.client.report(
            idempotency_key=report_key,
            category=category,
            description=description,
            location=location,
            channel=Channel.OPEN311,
            actor=key.actor,
            address=address,
            media_url=media_url,
        )
        if ref.duplicate:
            notice = f"同一问题已在办理中（{ref.distance_m:.0f} 米内的案件 {ref.case_id}），本次举报已并入该案件"
        else:
            unit = self.city.policy.units.get(ref.lead_unit or "")
            notice = f"已受理，由{unit.name if unit else ref.lead_unit}负责整改"
        if contact:
            await save_contact(self.store.pool, ref.case_id, report_key, contact)
        return {
            "service_request_id": ref.case_id,
            "service_notice": notice,
            "account_id": contact.get("account_id", ""),
        }
