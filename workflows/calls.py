"""How workflows run activities: every one with bounded retries, and a log line and a metric when one gives up.

No activity retries forever. A store append retries infrastructure faults for at most ten minutes, and never
retries a business fact (a concurrent writer, a conflicting event) or data the database refused
(`UnstorableEvents`). What the workflow does after a give-up is its own choice: refuse the command, or try the
tick (or the report) again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from rectify.activities.interface import APPEND_NOT_RETRIED, UNSTORABLE
    from rectify.domain.errors import DomainError

#: What a give-up raises in workflow code: an ActivityError, or for a local activity its cause as it is.
GAVE_UP = (ActivityError, ApplicationError, ActivityTimeout)


@dataclass(frozen=True)
class Budget:
    """Timeouts and retries of one kind of activity; `schedule_to_close` or `maximum_attempts` always bounds it."""

    start_to_close: timedelta
    schedule_to_close: timedelta
    retry: RetryPolicy

    def options(self) -> dict[str, Any]:
        return {
            "start_to_close_timeout": self.start_to_close,
            "schedule_to_close_timeout": self.schedule_to_close,
            "retry_policy": self.retry,
        }


APPEND = Budget(
    timedelta(seconds=30),
    timedelta(minutes=10),
    RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=10),
        non_retryable_error_types=list(APPEND_NOT_RETRIED),
    ),
)
#: Checkpoints and bulletins: a scheduled run that gives up is logged, and the next run covers it.
REPORTING = Budget(
    timedelta(minutes=10),
    timedelta(hours=1),
    RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=20,
        non_retryable_error_types=["PeriodError"],
    ),
)
#: The scheduled verify: a full one reads every event (an hour or more on a large store); a run that gives up is
#: logged, and the next covers it.
AUDIT = Budget(
    timedelta(hours=6),
    timedelta(hours=12),
    RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=5), maximum_attempts=3),
)
#: After the store stayed out of reach for a whole append budget, a timer's tick or a report tries again this late.
RETRY_LATER = timedelta(minutes=5)


async def run(activity: str, *args: Any, budget: Budget, result_type: type | None = None, local: bool = False) -> Any:
    """Run `activity` within `budget` (as a local activity if `local`); log and count it if it gives up."""
    try:
        if local:
            return await workflow.execute_local_activity(
                activity, args=args, result_type=result_type, **budget.options()
            )
        return await workflow.execute_activity(activity, args=args, result_type=result_type, **budget.options())
    except GAVE_UP as error:
        gave_up(activity, error)
        raise


def gave_up(activity: str, error: Exception) -> None:
    cause = _cause(error)
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
    retry_state = getattr(error, "retry_state", None)
    workflow.logger.error(
        "activity.gave_up",
        extra={
            "activity": activity,
            "workflow_id": workflow.info().workflow_id,
            "error_type": kind,
            "retry_state": retry_state.name if retry_state else None,
            "error": str(cause),
        },
    )
    counter = workflow.metric_meter().create_counter("rectify_activity_gave_up", "Activities that gave up retrying")
    counter.add(1, {"activity": activity, "error_type": kind})


def _cause(error: BaseException) -> BaseException:
    return (error.cause or error) if isinstance(error, ActivityError) else error


def unstorable(error: BaseException) -> bool:
    """Whether `error` is an append the database refused for the data itself."""
    cause = _cause(error)
    return isinstance(cause, ApplicationError) and cause.type == UNSTORABLE


def rejected(error: BaseException) -> bool:
    """Whether `error` is a command refused by the rules (`refusal` below)."""
    return isinstance(error, ApplicationError) and error.type == "CommandRejected"


def rejection(error: DomainError) -> ApplicationError:
    """A domain error as the caller sees it: non-retryable, typed, with the rule in the details."""
    return refusal(str(error), error.rule, error.case_id, error.status, error.message)


def refusal(
    text: str, rule: str, case_id: str | None, status: str | None = None, message: str = ""
) -> ApplicationError:
    return ApplicationError(
        text,
        {"rule": rule, "case_id": case_id, "status": status, "message": message or text},
        type="CommandRejected",
        non_retryable=True,
    )


def refused_data(command_id: str, case_id: str, status: str | None) -> ApplicationError:
    """The store refused the command's data for good: refused with the rule `unstorable`, nothing written."""
    text = f"case {case_id}: the store refused the data of command {command_id}; nothing was written [rule: unstorable]"
    return refusal(text, "unstorable", case_id, status)
