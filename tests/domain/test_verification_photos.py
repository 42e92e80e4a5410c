"""核查照片: the inspector's photos travel with the verification, on the closure or on the rework order."""

from __future__ import annotations

from rectify.domain import commands as c
from rectify.domain.events import CaseClosed, ReworkOrdered, parse_event
from rectify.domain.types import EvidenceRef
from tests.support.given import claim, cmd, given, inspector, report, submit, when

SEEN = EvidenceRef(sha256="d" * 64, size=20, media_type="image/png")


def test_a_failed_check_records_the_inspectors_photo_and_note() -> None:
    state = given(report(), claim(), submit())
    events = when(state, cmd(c.VerifyCase, inspector(), passed=False, note="摊位仍在", evidence=(SEEN,)))
    rework = events[0]
    assert isinstance(rework, ReworkOrdered)
    assert (rework.note, rework.evidence) == ("摊位仍在", (SEEN,))


def test_a_pass_may_carry_photos_and_older_events_read_without_them() -> None:
    state = given(report(), claim(), submit())
    closed = when(state, cmd(c.VerifyCase, inspector(), passed=True, evidence=(SEEN,)))[0]
    assert isinstance(closed, CaseClosed) and closed.evidence == (SEEN,)
    body = closed.model_dump(mode="json")
    del body["evidence"]  # as written before the field existed
    assert parse_event(body).evidence == ()
