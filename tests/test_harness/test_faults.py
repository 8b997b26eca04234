"""Faults during a run, injected into real ``python -m rgexp`` processes: failure must be harmless.

- SIGKILL mid-training: the run resumes from its last periodic checkpoint, which is at most one
  ``checkpoint_every`` interval behind the progress the process had shown, and ends with exactly
  the parameters and measurements of an uninterrupted run.
- SIGINT (Ctrl-C) behaves as SIGTERM: checkpoint, run KILLED, exit 130, the resume command printed.
- The checkpoint directory turning unwritable mid-run: one error line naming the file, the place and
  the reason, exit 1, the run FAILED, the previous checkpoint intact and loadable, no temporary file
  left; once writable again the run resumes to the uninterrupted result.
- An artifact location that cannot be written at all is refused before a run is created.
- Checkpoints hold tensors and plain values only and are read with ``weights_only=True``.

The three faulty runs go in parallel (each in its own experiment, sharing the data cache that an
in-process reference run fills first); their resumes run in process.
"""

from __future__ import annotations

import ast
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, compose_config

EVERY, EPOCHS = 50, 600  # 5 updates per epoch on the smoke data: 3,000 updates, 60 checkpoints
ARGS = ["experiment=smoke", f"model.train.epochs={EPOCHS}", f"checkpoint_every={EVERY}",
        "model.train.metrics_every=200", "analysis.thermometer=null", "analysis.receptive=null",
        "analysis.scaling=null"]
BAR = re.compile(rb"RBM training:\s*\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")


class Job:
    """A ``python -m rgexp`` process whose stderr (tqdm's bar included) is read as it comes."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "rgexp", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.err = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 65536):
            self.err += chunk

    def progress(self) -> tuple[int, int] | None:
        """(updates done, total) as last drawn by the training bar (it lags by at most ~0.1 s)."""
        hits = BAR.findall(bytes(self.err))
        return (int(hits[-1][0]), int(hits[-1][1])) if hits else None

    def wait(self, timeout: float = 300) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code, bytes(self.err).decode(errors="replace")


def checkpoint_of(root: Path, experiment: str) -> Path | None:
    found = list(root.glob(f"artifacts/{experiment}/*/artifacts/checkpoints/last.pt"))
    return found[0] if found else None


def _can_lock_dirs(base: Path) -> bool:
    """Root ignores permissions: an immutable directory (chattr +i) is then the unwritable place."""
    if os.geteuid() != 0:
        return True
    if shutil.which("chattr") is None:
        return False
    probe = base / "probe"
    probe.mkdir()
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        return False  # e.g. tmpfs, or no CAP_LINUX_IMMUTABLE
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    return True


def set_writable(path: Path, writable: bool) -> None:
    if os.geteuid() != 0:
        path.chmod(0o755 if writable else 0o555)
    else:
        subprocess.run(["chattr", "-i" if writable else "+i", str(path)], check=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGSTOP, and wait until the kernel reports the process stopped (state T)."""
    proc.send_signal(signal.SIGSTOP)
    for _ in range(500):
        if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "Tt":
            return
        time.sleep(0.002)


def _mid_training(job: Job, root: Path, experiment: str) -> bool:
    p = job.progress()
    return p is not None and p[0] >= 0.3 * p[1] and checkpoint_of(root, experiment) is not None


def _inject_faults(jobs: dict[str, Job], root: Path, out: dict) -> None:
    """Give each run its fault as soon as it is 30% into training (the runs go at once)."""
    pending, deadline = dict(jobs), time.time() + 240
    while pending:
        for name, job in list(pending.items()):
            assert job.proc.poll() is None, f"{name} ended before its fault: " + bytes(job.err)[-1500:].decode()
            if not _mid_training(job, root, name):
                continue
            if name == "readonly":  # lock the directory between two checkpoint writes, not during one
                _stop(job.proc)
                folder = checkpoint_of(root, name).parent
                if [p for p in folder.iterdir() if p.name != "last.pt"]:
                    job.proc.send_signal(signal.SIGCONT)
                    continue
                out["locked"] = folder
                set_writable(folder, False)
                job.proc.send_signal(signal.SIGCONT)
            else:
                out[f"{name}_seen"] = job.progress()
                job.proc.send_signal(signal.SIGKILL if name == "sigkill" else signal.SIGINT)
            del pending[name]
        assert time.time() < deadline, "timed out waiting for the runs to get going"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def faults(tmp_path_factory) -> dict:
    """The reference run, three faulty runs and their resumes; what each left behind."""
    from rgexp.pipeline import run

    base = tmp_path_factory.mktemp("faults")
    root = base / "mlruns"
    where = [f"tracking.root={root}", f"cache.directory={base / 'cache'}"]
    reference = run(compose_config([*ARGS, *where, "progress=false", "name=reference"]))
    GlobalHydra.instance().clear()
    lockable = _can_lock_dirs(base)
    jobs = {name: Job([*ARGS, *where, "progress=true", f"name={name}"], base)
            for name in ("sigkill", "sigint", "readonly")[: 3 if lockable else 2]}
    out: dict = {"reference": reference, "root": root, "lockable": lockable}
    try:
        _inject_faults(jobs, root, out)
        for name, job in jobs.items():
            out[name] = job.wait()
            out[f"{name}_checkpoint"] = torch.load(checkpoint_of(root, name), weights_only=True)
            out[f"{name}_leftovers"] = [p.name for p in checkpoint_of(root, name).parent.iterdir()
                                        if p.name != "last.pt"]
    finally:  # a failed fixture leaves no job running and no directory locked
        for job in jobs.values():
            if job.proc.poll() is None:
                job.proc.kill()
                job.proc.wait()
        if "locked" in out:
            set_writable(out["locked"], True)
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    run_of = {name: client.search_runs([client.get_experiment_by_name(name).experiment_id])[0] for name in jobs}
    out["status_after_fault"] = {name: r.info.status for name, r in run_of.items()}
    for name, r in run_of.items():  # in process: the CLI's resume path is test_cli's; imports cost ~6 s each
        overrides = [f"resume={r.info.run_id}", *where, "progress=false"]
        out[f"{name}_resume"] = run(compose_config(overrides), overrides=overrides)
        out[f"{name}_final"] = client.get_run(r.info.run_id)
        out[f"{name}_final_checkpoint"] = torch.load(checkpoint_of(root, name), weights_only=True)
    GlobalHydra.instance().clear()
    out["client"] = client
    return out


def same_model_as_reference(faults: dict, name: str) -> bool:
    ref = faults["reference"]["model"].state_dict()
    got = faults[f"{name}_final_checkpoint"]["trainer"]["model"]
    return ref.keys() == got.keys() and all(torch.equal(ref[k], got[k]) for k in ref)


def same_measurements_as_reference(faults: dict, name: str) -> bool:
    """Every flow/ and rg/ metric of the resumed run equals the reference run's, bit for bit."""
    client, ref_id = faults["client"], faults["reference"]["run_id"]
    ref = {k: v for k, v in client.get_run(ref_id).data.metrics.items() if k.startswith(("flow/", "rg/"))}
    got = {k: v for k, v in faults[f"{name}_final"].data.metrics.items() if k.startswith(("flow/", "rg/"))}
    return bool(ref) and ref == got


def no_step_logged_twice(faults: dict, name: str) -> bool:
    client, run = faults["client"], faults[f"{name}_final"]
    keys = [k for k in run.data.metrics if k.startswith(("train/", "mc/"))]
    steps = {k: [m.step for m in client.get_metric_history(run.info.run_id, k)] for k in keys}
    return bool(keys) and all(len(s) == len(set(s)) for s in steps.values())


@pytest.mark.slow  # the faults fixture: 35–60 s on 2 shared cores
def test_sigkill_resumes_from_the_last_periodic_checkpoint_to_the_uninterrupted_result(faults):
    code, _ = faults["sigkill"]
    assert code == -signal.SIGKILL
    assert faults["status_after_fault"]["sigkill"] == "RUNNING"  # nobody could mark it: it just stops
    seen, total = faults["sigkill_seen"]
    done = faults["sigkill_checkpoint"]["trainer"]["update"]
    assert 0 < done < total and done % EVERY == 0
    # Work redone on resume: from the checkpoint up to where the run had got, at most one interval.
    assert seen - done <= EVERY, (seen, done)
    print(f"SIGKILL at >= {seen} of {total} updates shown; resumed from update {done}")
    assert faults["sigkill_resume"]["status"] == "FINISHED"
    assert faults["sigkill_final"].info.status == "FINISHED"
    assert same_model_as_reference(faults, "sigkill")
    assert same_measurements_as_reference(faults, "sigkill")
    assert no_step_logged_twice(faults, "sigkill")


@pytest.mark.slow  # the faults fixture: 35–60 s on 2 shared cores
def test_sigint_checkpoints_marks_killed_and_resumes_like_sigterm(faults):
    code, err = faults["sigint"]
    run_id = faults["sigint_final"].info.run_id
    assert code == 130, err[-2000:]
    assert f"resume with: python -m rgexp resume={run_id}" in err.strip().splitlines()[-1]
    assert faults["status_after_fault"]["sigint"] == "KILLED"
    seen, total = faults["sigint_seen"]
    assert seen <= faults["sigint_checkpoint"]["trainer"]["update"] < total  # written at the stop
    assert faults["sigint_resume"]["status"] == "FINISHED"
    assert faults["sigint_final"].info.status == "FINISHED"
    assert same_model_as_reference(faults, "sigint") and same_measurements_as_reference(faults, "sigint")


@pytest.mark.slow  # the faults fixture: 35–60 s on 2 shared cores
def test_unwritable_checkpoint_directory_is_one_line_and_keeps_the_last_checkpoint(faults):
    if not faults["lockable"]:
        pytest.skip("running as root on a filesystem without chattr: no way to make a directory unwritable")
    code, err = faults["readonly"]
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    last = lines[-1]
    assert last.startswith("rgexp: error: cannot write checkpoints/last.pt of run "), last
    assert str(faults["locked"].parent) in last and ("Operation not permitted" in last or "Permission denied" in last)
    assert "the previous last.pt, if any, is unchanged" in last and "resume with: python -m rgexp resume=" in last
    assert faults["status_after_fault"]["readonly"] == "FAILED"
    state = faults["readonly_checkpoint"]  # loaded with weights_only=True by the fixture
    assert state["trainer"]["update"] % EVERY == 0 and 0 < state["trainer"]["update"] < EPOCHS * 5
    assert faults["readonly_leftovers"] == []  # no half-written temporary file
    assert faults["readonly_resume"]["status"] == "FINISHED"
    assert same_model_as_reference(faults, "readonly") and same_measurements_as_reference(faults, "readonly")


def test_artifact_location_that_is_a_file_is_refused_before_any_run(tmp_path):
    from rgexp.errors import StorageError
    from rgexp.pipeline import run

    root = tmp_path / "mlruns"
    root.mkdir()
    (root / "artifacts").write_text("a file where the artifact directory should be")
    cfg = compose_config(["experiment=smoke", f"tracking.root={root}", f"cache.directory={tmp_path / 'cache'}",
                          "progress=false"])
    GlobalHydra.instance().clear()
    with pytest.raises(StorageError) as info:  # the CLI prints it as one line and exits 1
        run(cfg)
    assert str(info.value).startswith("tracking.root: cannot write artifacts of experiment 'smoke' under ")
    assert str(root / "artifacts") in str(info.value) and "\n" not in str(info.value)
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
    assert not (tmp_path / "cache").exists()  # refused before any work


def _walk(x, path="checkpoint"):
    """(path, leaf) for every leaf of a nested dict/list/tuple."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _walk(v, f"{path}[{k!r}]")
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, x


@pytest.mark.slow  # the faults fixture: 35–60 s on 2 shared cores
def test_checkpoints_hold_only_tensors_and_plain_values(faults):
    state = faults["sigkill_final_checkpoint"]
    bad = [(p, type(v).__name__) for p, v in _walk(state)
           if not isinstance(v, (torch.Tensor, int, float, bool, str, type(None)))]
    assert bad == []
    assert isinstance(state["trainer"]["generator"], torch.Tensor)  # the RNG state, as a tensor


def test_every_torch_load_in_the_code_base_uses_weights_only_true():
    calls = []
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                safe = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", safe))
    assert any(p.startswith("src/rgexp/tracking/tracker.py") for p, _ in calls)  # the scan does see the loader
    assert [p for p, safe in calls if not safe] == []


@pytest.fixture
def open_run(shared_root):
    """A fresh run in the session's store, with a first checkpoint at update 1."""
    from rgexp.tracking import MLflowTracker

    tracker = MLflowTracker(root=str(shared_root / "mlruns"), experiment="faults")
    tracked = tracker.start("faults", "seed: 0\n", {}, {})
    tracked.save_checkpoint({"trainer": {"update": 1}, "config": "seed: 0\n"})
    yield tracker, tracked
    tracked.end("KILLED")


def test_a_checkpoint_with_pickled_objects_is_refused_not_executed(open_run):
    """weights_only=True is really on: a pickled NumPy array makes the checkpoint unloadable."""
    import numpy as np

    tracker, tracked = open_run
    tracked.save_checkpoint({"trainer": {"array": np.arange(3)}, "config": "seed: 0\n"})
    with pytest.raises(ValueError, match="is corrupt: .*Weights only load failed"):
        tracker.load_checkpoint(tracked.run_id)


def test_disk_full_in_the_middle_of_a_checkpoint_leaves_the_previous_one(open_run, monkeypatch):
    """The device fills up halfway through writing: a clear error, the old file, no debris."""
    import builtins

    from rgexp.errors import StorageError

    tracker, tracked = open_run

    class HalfFull:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    # the atomic write of every local file (rgexp.tracking.outage.atomic_write) is where the disk fills
    monkeypatch.setattr("rgexp.tracking.outage.open", lambda *a, **k: HalfFull(builtins.open(*a, **k)), raising=False)
    with pytest.raises(StorageError) as info:
        tracked.save_checkpoint({"trainer": {"update": 2}, "config": "seed: 0\n"})
    monkeypatch.undo()
    message = str(info.value)
    assert message.startswith(f"cannot write checkpoints/last.pt of run {tracked.run_id} under ")
    assert "No space left on device [errno 28] (the previous last.pt, if any, is unchanged)" in message
    assert "\n" not in message
    assert tracker.load_checkpoint(tracked.run_id)["trainer"]["update"] == 1
    assert [p.name for p in (tracked.artifact_dir / "checkpoints").iterdir()] == ["last.pt"]
