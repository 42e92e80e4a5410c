"""Verify a Rectify export bundle with Python's standard library alone.

    python3 verify_bundle.py            # in the unpacked bundle's folder
    python3 verify_bundle.py OUT.zip    # or the zip itself

It recomputes every event's hash chain and seal chain from the first event, matches the chain heads, checks
that recording times never go back with position, checks the checkpoint's own hash, its Merkle root over
its time and all heads, and that no event it covers was recorded after it, and checks every file against
the manifest.
Exit status 0 when everything holds, 1 when anything does not (each problem is printed).
This file is part of Rectify (`rectify audit verify-bundle` runs the same code).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

try:  # inside Rectify
    from rectify.domain.canonical import (
        GENESIS_HASH,
        SealCheck,
        chain_hash,
        checkpoint_hash,
        checkpoint_root,
        heads_root,
    )
except ModuleNotFoundError:  # in an unpacked bundle: the same file travels beside this one
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from canonical import (  # type: ignore[no-redef]
        GENESIS_HASH,
        SealCheck,
        chain_hash,
        checkpoint_hash,
        checkpoint_root,
        heads_root,
    )

MANIFEST = "manifest.json"


def _lines(data: bytes, name: str, problems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        try:
            rows.append(json.loads(line))
        except ValueError as error:
            problems.append(f"{name} line {number}: not JSON ({error})")
    return rows


def verify_files(files: dict[str, bytes]) -> tuple[list[str], dict]:
    """(problems, facts) for a bundle given as {file name: bytes}. No problems means it verifies."""
    problems: list[str] = []
    try:
        manifest = json.loads(files[MANIFEST])
    except (KeyError, ValueError) as error:
        return [f"{MANIFEST} missing or unreadable: {error}"], {}
    for name, digest in manifest.get("files", {}).items():
        if name not in files:
            problems.append(f"{name}: listed in the manifest but missing from the bundle")
        elif hashlib.sha256(files[name]).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 differs from the manifest's (the file was changed)")
    events = _lines(files.get("events.jsonl", b""), "events.jsonl", problems)
    heads = json.loads(files.get("chain_heads.json", b"{}"))
    by_case: dict[str, list[dict]] = {}
    for event in events:
        event["at"] = _instant(event.get("recorded_at"))
        by_case.setdefault(str(event.get("case_id")), []).append(event)
    seals = SealCheck()
    for case_id, chain in sorted(by_case.items()):
        problems += _check_chain(case_id, chain, heads.get(case_id), seals)
    problems += _check_clock(events)
    for case_id in sorted(set(heads) - set(by_case)):
        problems.append(f"case {case_id}: its chain head is listed but none of its events are in the bundle")
    checkpoint = json.loads(files["checkpoint.json"]) if "checkpoint.json" in files else None
    if checkpoint:
        all_heads = _lines(files.get("checkpoint_heads.jsonl", b""), "checkpoint_heads.jsonl", problems)
        problems += _check_checkpoint(checkpoint, all_heads, by_case)
    facts = {
        "cases": len(by_case),
        "events": len(events),
        "checkpoint": checkpoint and checkpoint.get("number"),
        "root": checkpoint and checkpoint.get("root"),
        "scope": manifest.get("scope"),
    }
    return problems, facts


def _instant(value: object) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _sealable(event: dict) -> bool:
    return event["at"] is not None and isinstance(event.get("position"), int) and isinstance(event.get("seal"), str)


def _check_chain(case_id: str, chain: list[dict], head: dict | None, seals: SealCheck) -> list[str]:
    problems, prev, rehashed = [], GENESIS_HASH, set()
    chain = sorted(chain, key=lambda e: e.get("version", 0))
    for expected_version, event in enumerate(chain, start=1):
        where = f"case {case_id} v{event.get('version')}"
        body = event.get("body") or {}
        if event.get("version") != expected_version:
            problems.append(f"{where}: expected version {expected_version} (an event is missing)")
        if event.get("prev_hash") != prev:
            problems.append(f"{where}: prev_hash does not link to the event before")
        if chain_hash(event.get("prev_hash", ""), body) != event.get("hash"):
            problems.append(f"{where}: hash does not match the event's content (it was changed)")
            rehashed.add(expected_version - 1)
        for field in ("case_id", "version"):
            if body.get(field) != event.get(field):
                problems.append(
                    f"{where}: column {field}: the line says {event.get(field)!r}, the hashed body {body.get(field)!r}"
                )
        if not _sealable(event):
            problems.append(f"{where}: no valid position, recorded_at (with its zone) or seal")
        prev = event.get("hash")
    if all(_sealable(e) for e in chain):
        rows = [
            {"position": e["position"], "recorded_at": e["at"], "hash": str(e.get("hash")), "seal": e["seal"]}
            for e in chain
        ]
        for index, problem in seals.breaks(rows, frozenset(rehashed)):
            problems.append(f"case {case_id} v{chain[index].get('version')}: {problem}")
    last = max(chain, key=lambda e: e.get("version", 0))
    if head is None:
        problems.append(f"case {case_id}: no chain head listed for it")
    elif (head.get("version"), head.get("hash")) != (last.get("version"), last.get("hash")):
        ends, listed = last.get("version"), head.get("version")
        problems.append(f"case {case_id}: the chain ends at v{ends}, but its head is v{listed} (events removed/added)")
    return problems


def _check_clock(events: list[dict]) -> list[str]:
    """Recording times never go back with position (the store gives them so), across the exported cases."""
    timed = sorted(
        (e for e in events if e["at"] is not None and isinstance(e.get("position"), int)), key=lambda e: e["position"]
    )
    return [
        f"case {b.get('case_id')} v{b.get('version')}: column recorded_at: recorded at {b['at'].isoformat()}, before "
        f"case {a.get('case_id')} v{a.get('version')} at position {a['position']} ({a['at'].isoformat()})"
        for a, b in itertools.pairwise(timed)
        if a["at"] > b["at"]
    ]


def _check_checkpoint(
    checkpoint: dict[str, Any], all_heads: list[dict[str, Any]], by_case: dict[str, list[dict[str, Any]]]
) -> list[str]:
    problems = []
    needed = ("number", "position", "cases", "root", "prev_hash", "hash")
    if missing := [k for k in needed if checkpoint.get(k) is None]:  # a forged or truncated bundle
        return [f"checkpoint.json: no {', '.join(missing)}"]
    number, position = checkpoint["number"], checkpoint["position"]
    timed = checkpoint.get("format", 1) >= 2  # format 1 (before migration 0009) covers neither time nor seals
    at = _instant(checkpoint.get("created_at")) if timed else None
    if timed and at is None:
        return [f"checkpoint {number}: no valid time (created_at)"]
    recomputed = checkpoint_hash(
        number,
        position,
        checkpoint["cases"],  # each of `needed` is there and not null (checked above)
        checkpoint["root"],
        checkpoint["prev_hash"],
        at,
        format=checkpoint.get("format", 1),
        verified=checkpoint.get("verified"),
    )
    if recomputed != checkpoint.get("hash"):
        problems.append(f"checkpoint {number}: its hash does not match its fields")
    heads = {h["case_id"]: (h["version"], h["hash"], h.get("seal") if timed else None) for h in all_heads}
    if at is not None:
        root = checkpoint_root(position, at, [(case_id, v, h, str(s)) for case_id, (v, h, s) in heads.items()])
    else:
        root = heads_root([(case_id, v, h) for case_id, (v, h, _) in heads.items()])
    if root != checkpoint.get("root") or len(heads) != checkpoint.get("cases"):
        problems.append(f"checkpoint {number}: the listed heads give root {root[:16]}…, not the recorded one")
    for case_id, chain in sorted(by_case.items()):
        before = [e for e in chain if e.get("position", 0) <= position]
        at_checkpoint = max(before, key=lambda e: e["version"]) if before else None
        listed = heads.get(case_id)
        seen = None
        if at_checkpoint:
            seen = (at_checkpoint["version"], at_checkpoint["hash"], at_checkpoint.get("seal") if timed else None)
        if seen != listed:
            problems.append(f"case {case_id}: at checkpoint {number} its head was {listed}; the events give {seen}")
        for e in before:
            if at is not None and e["at"] is not None and e["at"] > at:
                problems.append(
                    f"case {case_id} v{e.get('version')}: column recorded_at: recorded at "
                    f"{e['at'].isoformat()}, after checkpoint {number}'s time {at.isoformat()}, though "
                    f"it covers position {position}"
                )
    return problems


def read_bundle(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).resolve().parent
    try:
        files = read_bundle(path)
    except (OSError, zipfile.BadZipFile) as error:
        print(f"cannot read {path}: {error}")
        return 2
    problems, facts = verify_files(files)
    print(
        f"bundle {path}: {facts.get('cases', 0)} cases, {facts.get('events', 0)} events, checkpoint "
        f"{facts.get('checkpoint') or 'none'} (root {facts.get('root') or '-'})"
    )
    for problem in problems:
        print(f"  PROBLEM  {problem}")
    print(f"FAILED: {len(problems)} problems" if problems else "VERIFIED: every chain, head, checkpoint and file holds")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
