"""`rectify doctor`: is this installation healthy, and what needs a person's attention?

Checks, in order: PostgreSQL answers; every migration is applied and none was edited afterwards; appends the
database refused as data (recorded by the store activities, each a command that was refused with the rule
`unstorable`); notices given up (dead letters, waiting for `rectify notices retry`); Temporal answers; running
workflows that look stuck (an activity retrying many times, a workflow task failing again and again or running
far too long); workflows that failed. Exit code 0 when nothing failed (warnings allowed), 1 when a check failed,
3 when a server could not be reached.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from rectify.config import Settings

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    items: list[str] = field(default_factory=list)
    unreachable: bool = False


@dataclass(frozen=True)
class Limits:
    #: An activity on its Nth attempt, or a workflow task failing for the Nth time, counts as stuck.
    attempts: int = 5
    #: A workflow task running this long counts as stuck (a local append retrying inside it, say).
    task_seconds: float = 120.0
    #: Running workflows described at most (each is one call); how many items a check lists.
    scan: int = 1000
    listed: int = 20


async def diagnose(settings: Settings, limits: Limits = Limits()) -> list[Check]:
    return [*await _store_checks(settings, limits), *await _temporal_checks(settings, limits)]


async def _store_checks(settings: Settings, limits: Limits) -> list[Check]:
    from rectify.store import EventStore
    from rectify.store.failures import list_failures
    from rectify.store.migrate import migration_status
    from rectify.store.notices import NoticeStore

    if not settings.database_url:
        return [Check("postgresql", FAIL, "no database: set RECTIFY_DATABASE_URL or start `rectify up`", [], True)]
    where = settings.database_url.rsplit("@", 1)[-1]
    try:
        store = await EventStore.connect(settings.database_url, min_size=1, max_size=2)
    except (OSError, Exception) as error:  # asyncpg raises its own errors for refused logins and missing databases
        return [Check("postgresql", FAIL, f"{where} could not be reached: {type(error).__name__}: {error}", [], True)]
    try:
        checks = [Check("postgresql", OK, f"{where} answers")]
        pending, changed = await migration_status(store.pool)
        if pending or changed:
            items = [f"not applied: {n}" for n in pending] + [f"edited after it was applied: {n}" for n in changed]
            checks.append(Check("migrations", FAIL, "the schema is not the one this code expects", items))
        else:
            checks.append(Check("migrations", OK, "every migration applied, none edited"))
        if pending and "0011_append_failures.sql" in pending:
            return checks
        total, failures = await list_failures(store.pool, limits.listed)
        items = [f"{f.failed_at:%Y-%m-%d %H:%M:%S} {f.stream_id} {f.activity}: {f.error}" for f in failures]
        detail = f"{total} append(s) refused by the database as data; each command was refused (rule unstorable)"
        checks.append(Check("refused appends", WARN if total else OK, detail if total else "none", items))
        if pending and "0013_notice_delivery.sql" in pending:
            return checks
        dead, letters = await NoticeStore(store.pool).open_dead_letters(limits.listed)
        items = [
            f"#{d.id} {d.failed_at:%Y-%m-%d %H:%M:%S} {d.channel_id} → {d.recipient} case {d.case_id}: {d.reason}"
            for d in letters
        ]
        if dead > len(letters):
            items.append(f"… and {dead - len(letters)} more (`rectify notices failed` lists them all)")
        detail = f"{dead} notice(s) given up; `rectify notices retry ID` sends one again"
        checks.append(Check("dead letters", WARN if dead else OK, detail if dead else "none", items))
        return checks
    finally:
        await store.close()


async def _temporal_checks(settings: Settings, limits: Limits) -> list[Check]:
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError

    from rectify.client import ServerUnavailable, connect_temporal

    try:
        client = await connect_temporal(settings)
        await client.count_workflows(f"TaskQueue = '{settings.task_queue}'")
    except (ServerUnavailable, RPCError, RuntimeError) as error:
        return [Check("temporal", FAIL, str(error), [], True)]
    checks = [Check("temporal", OK, f"{settings.temporal_address} namespace {settings.namespace} answers")]
    queue = f"TaskQueue = '{settings.task_queue}'"
    stuck, scanned, started = [], 0, time.monotonic()
    async for execution in client.list_workflows(f"{queue} AND ExecutionStatus = 'Running'", limit=limits.scan):
        scanned += 1
        try:
            description = await client.get_workflow_handle(execution.id, run_id=execution.run_id).describe()
        except RPCError:
            continue  # it ended in the meantime
        stuck += [f"{execution.id}: {why}" for why in _why_stuck(description.raw_description, limits)]
    took = time.monotonic() - started
    detail = f"{len(stuck)} problem(s) in {scanned} running workflow(s) ({took:.1f} s)"
    if scanned >= limits.scan:
        detail += f"; only the first {limits.scan} were looked at"
    checks.append(Check("stuck workflows", FAIL if stuck else OK, detail, stuck[: limits.listed]))
    failed = [e async for e in client.list_workflows(f"{queue} AND ExecutionStatus = 'Failed'", limit=limits.listed)]
    count = (await client.count_workflows(f"{queue} AND ExecutionStatus = 'Failed'")).count
    items = [
        f"{e.id} ({e.workflow_type}) at {e.close_time:%Y-%m-%d %H:%M:%S}"
        for e in failed
        if e.status is WorkflowExecutionStatus.FAILED and e.close_time
    ]
    detail = f"{count} workflow(s) failed; `temporal workflow show --workflow-id ID` says why" if count else "none"
    checks.append(Check("failed workflows", WARN if count else OK, detail, items))
    return checks


def _why_stuck(raw: Any, limits: Limits) -> list[str]:
    reasons = []
    for pending in raw.pending_activities:
        if pending.attempt >= limits.attempts:
            failure = pending.last_failure.message if pending.HasField("last_failure") else "no failure recorded"
            reasons.append(f"activity {pending.activity_type.name} on attempt {pending.attempt}: {failure}")
    if raw.HasField("pending_workflow_task"):
        task = raw.pending_workflow_task
        if task.attempt >= limits.attempts:
            reasons.append(f"workflow task on attempt {task.attempt} (it keeps failing: see the worker's log)")
        elif task.HasField("started_time"):
            running = (datetime.now(UTC) - task.started_time.ToDatetime(tzinfo=UTC)).total_seconds()
            if running >= limits.task_seconds:
                reasons.append(f"workflow task running for {running:.0f} s (a local activity retrying inside it?)")
    return reasons


def report(checks: list[Check]) -> dict[str, Any]:
    return {"ok": not any(c.status == FAIL for c in checks), "checks": [asdict(c) for c in checks]}


def exit_code(checks: list[Check]) -> int:
    if any(c.unreachable for c in checks):
        return 3
    return 1 if any(c.status == FAIL for c in checks) else 0
