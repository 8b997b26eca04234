"""MLflow tracking: the only package that imports mlflow.

``tracker``: where runs go (the config group ``tracking``, the sweep callback). ``store``: an open
run (metrics, figures, arrays and checkpoints). ``outage``: a tracking server that stops answering
mid-run (the local pending record, the retry budget, the one-line errors). ``memory``: an
in-memory run for stage tests. ``reading``: runs read back as plain records, and the comparison
report's own run.
"""

from rgexp.tracking.memory import MemoryRun
from rgexp.tracking.outage import TrackingError, TrackingLost
from rgexp.tracking.reading import REPORT_TAG, RunRecord, log_report, read_runs
from rgexp.tracking.store import CHECKPOINT, TrackedRun
from rgexp.tracking.tracker import MLflowTracker, SweepSetup, flatten, git_state

__all__ = ["MLflowTracker", "TrackedRun", "SweepSetup", "flatten", "git_state", "CHECKPOINT",
           "REPORT_TAG", "RunRecord", "read_runs", "log_report", "MemoryRun", "TrackingError", "TrackingLost"]
