"""MLflow tracking: the only package that imports mlflow.

``store``: writing runs (the tracker, a run's metrics, figures, arrays and checkpoints, the sweep
callback). ``reading``: runs read back as plain records, and the comparison report's own run.
"""

from rgexp.tracking.reading import REPORT_TAG, RunRecord, log_report, read_runs
from rgexp.tracking.store import CHECKPOINT, MLflowTracker, SweepSetup, TrackedRun, flatten, git_state

__all__ = ["MLflowTracker", "TrackedRun", "SweepSetup", "flatten", "git_state", "CHECKPOINT",
           "REPORT_TAG", "RunRecord", "read_runs", "log_report"]
