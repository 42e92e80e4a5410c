"""Every workflow Rectify runs: what a worker registers and what the replay corpus is checked against."""

from rectify.workflows.accountability_workflow import AccountabilityWorkflow
from rectify.workflows.bulletin_workflow import BulletinWorkflow
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.checkpoint_workflow import CheckpointWorkflow
from rectify.workflows.round_workflow import RoundPlannerWorkflow, RoundWorkflow
from rectify.workflows.verify_workflow import VerifyWorkflow

WORKFLOWS = (
    CaseWorkflow,
    AccountabilityWorkflow,
    CheckpointWorkflow,
    VerifyWorkflow,
    BulletinWorkflow,
    RoundWorkflow,
    RoundPlannerWorkflow,
)
