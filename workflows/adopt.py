"""Adopt on retry: what the case workflow does when the store already holds events it is about to append.

The case workflow appends through a local activity, inside its workflow task. When a worker dies (or the task
times out) after the append landed but before the task completed, Temporal runs the task again: the workflow
decides the same commands again, at a later `workflow.now()`, so its new events differ from the stored ones in
their times, and the store refuses them. The workflow is the case's only writer, so events after the version it
holds can only be an earlier attempt's decisions: the store answers with them (`EventStore.append_or_stored`)
and the workflow takes them as the record, not its new decision.

The retried task may handle its updates in another order. So the stored events are split by the command that
caused them: groups of other commands are recorded and held until their own update asks; the command being
executed gets its own group, or, when the store held only others', decides again on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from rectify.domain.events import Event


def by_command(events: Sequence[Event]) -> list[list[Event]]:
    """Consecutive events grouped by the command that caused them, in order."""
    groups: list[list[Event]] = []
    for event in events:
        if groups and groups[-1][0].causation_id == event.causation_id:
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


class Adopted:
    """Events an earlier attempt of the workflow task stored for commands whose updates have not come yet."""

    def __init__(self) -> None:
        self._held: dict[str, list[Event]] = {}

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._held

    def take(self, command_id: str) -> list[Event] | None:
        """The events stored for this command by an earlier attempt (recorded already), once; else None."""
        return self._held.pop(command_id, None)

    def settle(self, command_id: str, stored: Sequence[Event]) -> tuple[list[list[Event]], list[Event] | None]:
        """What to record, in order, after the store answered an append of `command_id`'s events with `stored`;
        and that command's own events, or None when the store held only other commands' (decide again).

        Other commands' groups before the command's own are held for their updates."""
        record: list[list[Event]] = []
        for group in by_command(stored):
            record.append(group)
            if group[0].causation_id == command_id:
                return record, group
            self._held[group[0].causation_id] = group
        return record, None
