"""Declarative studies: YAML files (four ship with cnnbench), named targets, the runner on top of
:mod:`cnnbench.execute`, and the seeds' observations computed from the store."""

from cnnbench.studies.findings import Finding, all_findings
from cnnbench.studies.plan import StudyPlan, StudyPoint, load_study, plan_study, shipped_studies
from cnnbench.studies.runner import StudyEvents, StudyRun, run_study, study_results
from cnnbench.studies.schema import Study, TargetDef

__all__ = [
    "Finding",
    "Study",
    "StudyEvents",
    "StudyPlan",
    "StudyPoint",
    "StudyRun",
    "TargetDef",
    "all_findings",
    "load_study",
    "plan_study",
    "run_study",
    "shipped_studies",
    "study_results",
]
