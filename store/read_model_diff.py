"""The read models as stored against a rebuild from the events (store/scan.py folds them): which rows differ, in
which columns, and which cases' indicator facts differ and how. Rows are compared as tuples of their columns.
`Range` (which streams) is here, below the scan, as both read by it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field

from rectify.domain.types import Frozen
from rectify.store.connection import Conn
from rectify.store.projections import (
    CASE_COLUMNS,
    POINT_COLUMNS,
    PROCEEDING_COLUMNS,
    ROUND_COLUMNS,
    CaseRow,
    PointRow,
    ProceedingRow,
    RoundRow,
    StreamRow,
)

FACT_FIELDS = ("event_id", "kind", "unit_id", "case_id", "at", "value")


@dataclass(frozen=True)
class Range:
    """Stream ids in [low, high) (None is open), or the one stream `only`."""

    low: str | None = None
    high: str | None = None
    only: str | None = None

    def where(self, column: str = "case_id") -> tuple[str, list[str]]:
        """A SQL condition on `column` with its arguments, numbered from $1."""
        if self.only is not None:
            return f"{column} = $1", [self.only]
        bounds = [(op, value) for op, value in ((">=", self.low), ("<", self.high)) if value is not None]
        clauses = [f"{column} {op} ${i}" for i, (op, _) in enumerate(bounds, start=1)]
        return " AND ".join(clauses) or "true", [value for _, value in bounds]


class ReadModelDiff(Frozen):
    missing: list[str] = Field(default_factory=list)
    extra: list[str] = Field(default_factory=list)
    different: list[str] = Field(default_factory=list)
    #: Cases whose indicator facts (unit_facts) differ from a rebuild.
    facts_different: list[str] = Field(default_factory=list)
    #: For each stream in `different` the columns of its row that differ, and for each case in `facts_different`
    #: what differs in its facts (a column of a fact, or a fact missing or extra).
    columns: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different or self.facts_different)

    def __add__(self, other: ReadModelDiff) -> ReadModelDiff:
        lists = {
            name: sorted(getattr(self, name) + getattr(other, name))
            for name in ReadModelDiff.model_fields
            if name != "columns"
        }
        return ReadModelDiff(**lists, columns=self.columns | other.columns)


async def diff(conn: Conn, rows: Mapping[str, StreamRow | None], facts: set[tuple], within: Range) -> ReadModelDiff:
    """The stored read models of the range against what the scan (store/scan.py) rebuilt: its `rows` and `facts`
    (rows compared as tuples of columns)."""
    where, args = within.where()
    stored: dict[str, tuple] = {}
    rebuilt: dict[str, tuple | None] = {}
    # Each table's rows keyed by their stream id (a point's and a round's rows by their own id, less the prefix).
    for table, key, columns, model in (
        ("cases", "case_id", CASE_COLUMNS, CaseRow),
        ("proceedings", "proceeding_id", PROCEEDING_COLUMNS, ProceedingRow),
        ("points", "('pt-' || point_id)", POINT_COLUMNS, PointRow),
        ("rounds", "('rd-' || round_id)", ROUND_COLUMNS, RoundRow),
    ):
        clause, _ = within.where(key)
        query = f"SELECT {key} AS stream_id, {', '.join(columns)} FROM {table} WHERE {clause}"
        for r in await conn.fetch(query, *args):
            stored[r["stream_id"]] = (model, tuple(r)[1:])
    for stream_id, row in rows.items():
        if row is not None:
            rebuilt[stream_id] = (type(row), tuple(getattr(row, c) for c in type(row).model_fields))
        else:
            rebuilt[stream_id] = None
    fact_rows = await conn.fetch(f"SELECT {', '.join(FACT_FIELDS)} FROM unit_facts WHERE {where}", *args)
    stored_facts = {tuple(r) for r in fact_rows}
    different = sorted(k for k in rebuilt.keys() & stored.keys() if rebuilt[k] != stored[k])
    columns = {k: _row_columns(rebuilt[k], stored[k]) for k in different}
    return ReadModelDiff(
        missing=sorted(k for k in rebuilt.keys() - stored.keys() if rebuilt[k] is not None),
        extra=sorted(stored.keys() - rebuilt.keys()),
        different=different,
        facts_different=sorted({f[3] for f in facts ^ stored_facts}),
        columns=columns | _fact_columns(facts - stored_facts, stored_facts - facts),
    )


def _row_columns(rebuilt: tuple | None, stored: tuple) -> list[str]:
    """The columns of a stored row that differ from its rebuild (every column if it no longer rebuilds)."""
    model, values = stored
    names = list(model.model_fields)
    if rebuilt is None or rebuilt[0] is not model:
        return names
    return [name for name, a, b in zip(names, rebuilt[1], values, strict=True) if a != b]


def _fact_columns(rebuilt: set[tuple], stored: set[tuple]) -> dict[str, list[str]]:
    """What differs in each case's facts: a fact (event, kind, unit) found in both with other columns, or one
    found only in the rebuild or only in the table."""
    keyed = {f[:3]: f for f in stored}
    found: dict[str, set[str]] = {}
    unmatched: dict[str, list[tuple]] = {}
    for fact in rebuilt:
        twin = keyed.pop(fact[:3], None)
        if twin is None:
            unmatched.setdefault(fact[3], []).append(fact)
        else:
            for case_id in {fact[3], twin[3]}:
                found.setdefault(case_id, set()).update(_changed(fact, twin))
    for extra in keyed.values():  # a key column changed: pair it with a rebuilt fact of its case differing only there
        same_case = unmatched.get(extra[3], [])
        close = next((fact for fact in same_case if len(_changed(fact, extra)) == 1), None)
        if close is not None:
            same_case.remove(close)
            found.setdefault(extra[3], set()).update(_changed(close, extra))
        else:
            found.setdefault(extra[3], set()).add("a fact the events do not give")
    for case_id, facts in unmatched.items():
        if facts:
            found.setdefault(case_id, set()).add("a fact missing from the table")
    return {f"facts:{case_id}": sorted(what) for case_id, what in found.items()}


def _changed(a: tuple, b: tuple) -> set[str]:
    return {f"column {name}" for name, x, y in zip(FACT_FIELDS, a, b, strict=True) if x != y}
