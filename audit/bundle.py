"""`rectify audit export`: a self-contained bundle an auditor verifies on a machine without Rectify.

The zip holds the events in canonical JSON lines, the chain heads, the latest checkpoint with every
head it covers, the hashes of the policy and city data in force, a manifest of file hashes, and
`verify_bundle.py` with `canonical.py`: the very code Rectify uses, standard library only.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from rectify.audit import verify_bundle as verifier
from rectify.city import City
from rectify.domain import canonical
from rectify.domain.canonical import canonical_json
from rectify.store import EventStore
from rectify.store import audit_queries as queries
from rectify.store.checkpoints import heads_at, latest_checkpoint

README = """Rectify audit bundle
====================

Verify it with Python 3.11 or later and nothing else:

    python3 verify_bundle.py

events.jsonl           every event of the exported cases, one canonical JSON object per line: its body (hashed
                       into its case's chain) and its position and recording time (sealed into its case's seals)
chain_heads.json       each exported case's last version and hash when the bundle was made
checkpoint.json        the latest checkpoint: a Merkle root over its time and every case's head at a position
checkpoint_heads.jsonl every head that checkpoint covers, so its root can be recomputed here
manifest.json          what was exported, the policy and city data hashes, and every file's SHA-256
canonical.py           the canonical JSON, chain hash and Merkle root, exactly as Rectify computes them
verify_bundle.py       the verifier (`rectify audit verify-bundle` runs the same code)

Compare the checkpoint root with a copy kept elsewhere (a printed bulletin, an earlier bundle): a match
means the store held these cases, unchanged, when the checkpoint was taken, and recorded each of their
events before it at the time given, no later than the checkpoint's own time.
"""


class ExportError(ValueError):
    """Nothing to export, or the scope was given wrongly."""


def policy_hash(city: City) -> str:
    return hashlib.sha256(canonical_json(city.policy.model_dump(mode="json"))).hexdigest()


async def cases_in_scope(
    store: EventStore,
    *,
    case_id: str | None = None,
    unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
    zone: str = "Asia/Shanghai",
) -> list[str]:
    """A case, or every case a unit led or was escalated for with events in [start, end] (local dates)."""
    if case_id:
        if not await queries.case_exists(store.pool, case_id):
            raise ExportError(f"no case {case_id} in the store")
        return [case_id]
    if not (unit and start and end):
        raise ExportError("give --case ID, or --unit U with --from and --to dates")
    if end < start:
        raise ExportError(f"--to {end} is before --from {start}")
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    lo = datetime.combine(start, time(0), tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tz)
    return await queries.cases_of_unit(store.pool, unit, lo, hi)


async def export_bundle(store: EventStore, city: City, case_ids: list[str], scope: dict, out: Path) -> dict:
    """Write the bundle to `out` (a .zip); return its manifest."""
    if not case_ids:
        raise ExportError("no case matches that scope; nothing to export")
    files: dict[str, bytes] = {}
    lines, heads = [], {}
    for case_id in case_ids:
        for record in await store.load_records(case_id):
            lines.append(
                canonical_json(
                    {
                        "position": record.position,
                        "case_id": record.case_id,
                        "version": record.version,
                        "recorded_at": record.recorded_at.astimezone(UTC).isoformat(),
                        "prev_hash": record.prev_hash,
                        "hash": record.hash,
                        "seal": record.seal,
                        "body": record.body,
                    }
                )
            )
            heads[case_id] = {"version": record.version, "hash": record.hash}
    files["events.jsonl"] = b"\n".join(lines) + b"\n"
    files["chain_heads.json"] = canonical_json(heads)
    checkpoint = await latest_checkpoint(store.pool)
    if checkpoint is not None:
        files["checkpoint.json"] = canonical_json(checkpoint.model_dump(mode="json"))
        covered = await heads_at(store.pool, checkpoint.position)
        files["checkpoint_heads.jsonl"] = (
            b"\n".join(
                canonical_json({"case_id": c, "version": v, "hash": h, "seal": seal}) for c, v, h, seal in covered
            )
            + b"\n"
        )
    files["README.txt"] = README.encode()
    files["canonical.py"] = Path(canonical.__file__).read_bytes()
    files["verify_bundle.py"] = Path(verifier.__file__).read_bytes()
    manifest = {
        "format": "rectify-audit-bundle/2",
        "created_at": datetime.now(UTC).isoformat(),
        "scope": scope,
        "cases": len(heads),
        "events": len(lines),
        "city": city.policy.city,
        "policy_version": city.policy.version,
        "policy_sha256": policy_hash(city),
        "city_data_sha256": city.data_hash,
        "checkpoint": checkpoint.model_dump(mode="json") if checkpoint else None,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[verifier.MANIFEST] = canonical_json(manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in sorted(files.items()):
            bundle.writestr(name, data)
    out.write_bytes(buffer.getvalue())
    return manifest
