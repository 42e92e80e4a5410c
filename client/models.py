"""What the SDK answers with, beside the workflows' own results (CommandResult, ProceedingResult)."""

from __future__ import annotations

from datetime import datetime

from rectify.domain.state import CaseState
from rectify.domain.types import Frozen
from rectify.store import CaseRow


class CaseRef(Frozen):
    """The case a report opened, or the open case it joined as a duplicate (`duplicate`, `distance_m` from it)."""

    case_id: str
    workflow_id: str
    status: str
    lead_unit: str | None
    due_at: datetime | None
    duplicate: bool = False
    distance_m: float | None = None


class CaseView(Frozen):
    """A case as it stands now: the live workflow's state, or the read model once the workflow has ended."""

    state: CaseState | None
    row: CaseRow | None
    live: bool

    @property
    def status(self) -> str:
        return self.state.status if self.state else self.row.status
