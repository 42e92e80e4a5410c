"""For each new run of a workflow, Temporal's sandbox executes the workflow's module again; everything else of
Rectify it uses (the activity calls, search attributes, refusals, models, the domain) is passed through, so a case
start does not run those modules again (issue 19: the re-imports cost the worker some 8 ms of CPU per case).

`from rectify.workflows import calls` would quietly undo that, even inside `imports_passed_through()`: the sandbox
passes through the module an import statement names, and `rectify.workflows` itself is the sandbox's own copy."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from temporalio import workflow
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from rectify.workflows.registry import WORKFLOWS


class Recording(SandboxedWorkflowRunner):
    """The worker's default runner, keeping the instances it makes."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        self.__dict__.setdefault("made", []).append(instance)  # (a frozen dataclass)
        return instance


def executed_in_sandbox(cls: type) -> set[str]:
    """The modules of Rectify a new run of `cls` executes itself rather than taking from the host's."""
    runner = Recording()
    runner.prepare_workflow(workflow._Definition.must_from_class(cls))  # as a worker does for each workflow it runs
    [instance] = runner.__dict__["made"]
    modules: dict[str, Any] = instance.importer.new_modules  # the sandbox's sys.modules
    return {
        name
        for name, module in modules.items()
        if name.partition(".")[0] == "rectify" and sys.modules.get(name) is not module
    }


@pytest.mark.parametrize("cls", WORKFLOWS, ids=lambda cls: cls.__name__)
async def test_a_new_run_executes_only_the_workflows_own_module(cls: type) -> None:
    assert executed_in_sandbox(cls) == {"rectify", "rectify.workflows", cls.__module__}
