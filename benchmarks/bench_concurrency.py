"""Parallel jobs on one fresh embedded MLflow store: runs lost, "database is locked", schema races.

Every trial creates a brand-new SQLite store (so that the schema-setup race is hit) and starts
``--jobs`` worker processes at the same instant (a multiprocessing barrier); each does ``--runs``
runs one after another with the write pattern of a pipeline run: the flattened config as params,
``config.yaml``, metrics every step, a checkpoint every ``--every`` steps, an ``.npz`` artifact,
then FINISHED. The store is then read back; a run is **lost** if it is missing, not FINISHED, or
lacks a param, a metric step, its checkpoint or its artifact. A step logged twice is counted too.

``--mode rgexp`` (default) goes through rgexp's tracking layer (store and experiment created under
a file lock, metrics buffered and written with each checkpoint, atomic checkpoints).
``--mode naive`` is the control: a bare ``MlflowClient`` per worker on the fresh store, get-or-create
of the experiment, one call per param and per metric — what the harness is built to avoid.
``--mode naive-warm`` is the same on a store created beforehand: the cost of unbatched writes alone.
``--kill K`` SIGKILLs K workers (chosen with ``--seed``) at a random moment of their runs (or, with
``--die-at S``, each kills itself right after the checkpoint of step S of its first run: the same
fault, independent of the machine's speed, as the test uses it); afterwards
their runs are finished the way ``python -m rgexp resume=<run_id>`` does it (reopen the run, load the
last checkpoint with ``weights_only=True``, redo the steps after it) or started again when no
checkpoint had been written yet, and counted like the others.

``--e2e`` runs the real pipeline instead: ``--jobs`` concurrent ``python -m rgexp`` processes (one
run each; a cluster job array) on a fresh store, ``--kill`` of them stopped by SIGKILL, SIGTERM and
SIGINT in turn once their first checkpoint exists, then ``resume=<run_id>`` for every unfinished run.

    python benchmarks/bench_concurrency.py                 # 4 jobs x 5 runs, 3 fresh stores, both modes
    python benchmarks/bench_concurrency.py --jobs 8 --kill 2
    python benchmarks/bench_concurrency.py --e2e --jobs 4 --kill 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "bench"
N_PARAMS, N_METRICS = 120, 6  # a smoke config flattens to ~110 params; train/* has ~6 metrics


def _classify(err: BaseException) -> str:
    """The kind of a failed run's error: "database is locked", "schema race" or "other"."""
    text = f"{type(err).__name__}: {err}"
    if "database is locked" in text:
        return "database is locked"
    if any(s in text for s in ("duplicate column", "already exists", "no such table", "No such index", "alembic")):
        return "schema race"
    return "other"


# ------------------------------------------------------------------------------------ one run
def _die_after(step: int, die_at: int | None) -> None:
    """SIGKILL this process once the checkpoint of step ``die_at`` is written (no goodbye, as a lost node)."""
    if step == die_at:
        os.kill(os.getpid(), signal.SIGKILL)


def _steps(tracked, first: int, n_steps: int, every: int, die_at: int | None = None) -> None:
    """Metrics for steps first..n_steps-1; buffered and flushed with each checkpoint (rgexp mode)."""
    import torch

    for step in range(first, n_steps):
        tracked.log_metrics({f"train/m{j}": step + j / 10 for j in range(N_METRICS)}, step=step)
        if (step + 1) % every == 0 or step + 1 == n_steps:
            tracked.flush()
            tracked.save_checkpoint({"step": step + 1, "weights": torch.full((64, 64), float(step))})
            _die_after(step + 1, die_at)


def _run_rgexp(root: Path, key: str, n_steps: int, every: int, die_at: int | None = None) -> None:
    import numpy as np

    from rgexp.tracking import MLflowTracker

    tracker = MLflowTracker(root=str(root), experiment=EXPERIMENT)
    params = {f"group{j % 7}.key{j}": str(j) for j in range(N_PARAMS)}
    tracked = tracker.start(key, "seed: 0\n", params, {"bench_key": key})
    _steps(tracked, 0, n_steps, every, die_at)
    tracked.log_arrays("arrays/curve.npz", value=np.arange(10.0))
    tracked.end("FINISHED")


def _run_naive(root: Path, key: str, n_steps: int, every: int, die_at: int | None = None) -> None:
    import io

    import torch
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name(EXPERIMENT)
    exp_id = exp.experiment_id if exp else client.create_experiment(
        EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(exp_id, run_name=key, tags={"bench_key": key}).info.run_id
    for j in range(N_PARAMS):
        client.log_param(run_id, f"group{j % 7}.key{j}", str(j))
    client.log_text(run_id, "seed: 0\n", "config.yaml")
    for step in range(n_steps):
        for j in range(N_METRICS):
            client.log_metric(run_id, f"train/m{j}", step + j / 10, step=step)
        if (step + 1) % every == 0 or step + 1 == n_steps:
            with tempfile.TemporaryDirectory() as tmp:
                buf = io.BytesIO()
                torch.save({"step": step + 1, "weights": torch.full((64, 64), float(step))}, buf)
                (Path(tmp) / "last.pt").write_bytes(buf.getvalue())
                client.log_artifact(run_id, str(Path(tmp) / "last.pt"), "checkpoints")
            _die_after(step + 1, die_at)
    client.log_text(run_id, "ok", "arrays/curve.npz")
    client.set_terminated(run_id, "FINISHED")


def _worker(root: str, mode: str, worker: int, n_runs: int, n_steps: int, every: int, barrier,
            die_at: int | None = None) -> None:
    """Do ``n_runs`` runs (the first one killed at step ``die_at`` where given); write what failed to
    ``<root>/worker<k>.json`` (absent if killed)."""
    import logging

    import mlflow  # noqa: F401  (imported before the barrier: only the writes are timed together)
    import torch  # noqa: F401

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # "Creating initial MLflow database tables…"

    import rgexp.tracking  # noqa: F401

    run = _run_rgexp if mode == "rgexp" else _run_naive  # naive, naive-warm
    barrier.wait(timeout=600)
    errors = []
    for i in range(n_runs):
        try:
            run(Path(root), f"w{worker}-r{i}", n_steps, every, die_at if i == 0 else None)
        except Exception as err:  # noqa: BLE001 — every failure is a figure of the benchmark
            errors.append([_classify(err), f"{type(err).__name__}: {err}".splitlines()[0][:200]])
    Path(root, f"worker{worker}.json").write_text(json.dumps(errors))


# ------------------------------------------------------------------------------ after a trial
def _finish_killed(root: Path, keys: list[str], n_steps: int, every: int) -> dict[str, int]:
    """Finish every expected run that is not FINISHED, as a resume would; count how."""
    from rgexp.tracking import MLflowTracker

    tracker = MLflowTracker(root=str(root), experiment=EXPERIMENT)
    runs = _runs_by_key(root)
    counts = {"resumed": 0, "restarted": 0}
    for key in keys:
        run = runs.get(key)
        if run is not None and run.info.status == "FINISHED":
            continue
        try:
            state = tracker.load_checkpoint(run.info.run_id) if run is not None else None
        except FileNotFoundError:
            state = None
        if state is None:  # killed before its first checkpoint (or before it started): run it again
            if run is not None:
                tracker.client.set_terminated(run.info.run_id, "FAILED")
                tracker.client.set_tag(run.info.run_id, "bench_key", f"{key}-orphan")
            _run_rgexp(root, key, n_steps, every)
            counts["restarted"] += 1
            continue
        tracked = tracker.reopen(run.info.run_id)
        _steps(tracked, int(state["step"]), n_steps, every)
        tracked.log_arrays("arrays/curve.npz", value=list(range(10)))
        tracked.end("FINISHED")
        counts["resumed"] += 1
    return counts


def _runs_by_key(root: Path) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return {}
    return {r.data.tags.get("bench_key"): r for r in client.search_runs([exp.experiment_id], max_results=50000)}


def _audit(root: Path, keys: list[str], n_steps: int) -> dict[str, int]:
    """(lost runs, steps logged twice) of the store against what every run logged."""
    import torch
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        runs, lost, dup = _runs_by_key(root), 0, 0
    except Exception:  # noqa: BLE001 — a store left half-migrated by the schema race
        return {"lost": len(keys), "duplicate_steps": 0, "store_broken": True}
    for key in keys:
        run = runs.get(key)
        try:
            ok = run is not None and run.info.status == "FINISHED" and len(run.data.params) == N_PARAMS
            steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/m0")] if ok else []
            dup += len(steps) - len(set(steps))
            ok = ok and sorted(set(steps)) == list(range(n_steps))
            with tempfile.TemporaryDirectory() as tmp:
                ckpt = torch.load(client.download_artifacts(run.info.run_id, "checkpoints/last.pt", tmp),
                                  weights_only=True) if ok else None
                ok = ok and ckpt["step"] == n_steps
                ok = ok and Path(client.download_artifacts(run.info.run_id, "arrays/curve.npz", tmp)).exists()
        except Exception:  # noqa: BLE001 — an unreadable run is a lost run
            ok = False
        lost += not ok
    return {"lost": lost, "duplicate_steps": dup}


def _kill_mid_run(root: Path, procs: list, killed: set[int], rng: random.Random, patience: float = 120.0) -> None:
    """SIGKILL a random worker whose current run has written a checkpoint, a random moment later."""
    from mlflow.tracking import MlflowClient

    deadline = time.time() + patience
    while time.time() < deadline:
        time.sleep(0.05)
        # Opening a store that is still being created would itself race in the schema setup (any
        # MLflow client, even a reader, initialises a new store): wait for a first checkpoint.
        if not any(root.glob("artifacts/*/*/artifacts/checkpoints/last.pt")):
            continue
        try:
            running = MlflowClient(f"sqlite:///{root / 'mlflow.db'}").search_runs(
                [e.experiment_id for e in MlflowClient(f"sqlite:///{root / 'mlflow.db'}").search_experiments()],
                "attributes.status = 'RUNNING'")
        except Exception:  # noqa: BLE001 — the store is still being created
            continue
        ready = sorted({int(r.data.tags["bench_key"][1:].split("-")[0]) for r in running
                        if (root / "artifacts" / EXPERIMENT / r.info.run_id / "artifacts/checkpoints/last.pt").exists()})
        ready = [w for w in ready if w not in killed and procs[w].is_alive()]
        if ready:
            time.sleep(rng.uniform(0.0, 0.2))
            victim = rng.choice(ready)
            os.kill(procs[victim].pid, signal.SIGKILL)
            killed.add(victim)
            return


def trial(mode: str, jobs: int, runs: int, n_steps: int, every: int, kill: int, rng: random.Random,
          die_at: int | None = None) -> dict:
    """One fresh store, ``jobs`` workers started together; figures of the trial. ``kill`` workers
    SIGKILLed at a random moment of a run, or, with ``die_at``, by themselves at that step of their
    first run (deterministic: the same fault whatever the machine's speed)."""
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="rgexp-bench-") as tmp:
        root = Path(tmp) / "mlruns"  # does not exist yet: the workers create the store ...
        if mode == "naive-warm":  # ... except here: made first, as SweepSetup does, to time the writes alone
            from rgexp.tracking import MLflowTracker

            MLflowTracker(root=str(root), experiment=EXPERIMENT).setup()
        barrier = ctx.Barrier(jobs + 1)
        suicides = set(rng.sample(range(jobs), kill)) if die_at is not None else set()
        procs = [ctx.Process(target=_worker, args=(str(root), mode, w, runs, n_steps, every, barrier,
                                                   die_at if w in suicides else None)) for w in range(jobs)]
        for p in procs:
            p.start()
        barrier.wait(timeout=600)  # a worker that died while importing breaks it instead of hanging
        t0 = time.perf_counter()
        killed: set[int] = set(suicides)
        for _ in range(kill if die_at is None else 0):
            _kill_mid_run(root, procs, killed, rng)
        for p in procs:
            p.join()
        wall = time.perf_counter() - t0
        crashed = [w for w, p in enumerate(procs) if p.exitcode != 0 and w not in killed]
        errors: list[list[str]] = []  # [kind, first line] per failed run
        for w in range(jobs):
            f = root / f"worker{w}.json"
            errors += json.loads(f.read_text()) if f.exists() else []
        keys = [f"w{w}-r{i}" for w in range(jobs) for i in range(runs)]
        repaired = _finish_killed(root, keys, n_steps, every) if kill else {"resumed": 0, "restarted": 0}
        return {"wall_s": wall, "errors": errors, "crashed": crashed, **repaired, **_audit(root, keys, n_steps)}


# ------------------------------------------------------------------------------------- e2e
def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rgexp", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def e2e(jobs: int, kill: int, rng: random.Random) -> dict:
    """``jobs`` concurrent ``python -m rgexp`` runs on one fresh store, ``kill`` of them stopped."""
    from mlflow.tracking import MlflowClient

    base = ["experiment=smoke", "progress=false", "model.train.epochs=1000", "checkpoint_every=50",
            "model.train.metrics_every=100", "analysis.thermometer=null", "analysis.receptive=null",
            "analysis.scaling=null"]
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    with tempfile.TemporaryDirectory(prefix="rgexp-e2e-") as tmp:
        cwd = Path(tmp)
        t0 = time.perf_counter()
        procs = {s: _cli([*base, f"seed={s}"], cwd) for s in range(jobs)}
        victims = dict(zip(rng.sample(range(jobs), kill), signals * jobs))
        outputs = _stop_when_checkpointed(procs, victims, cwd)
        codes = sorted(p.returncode for p in procs.values())
        db = cwd / "mlruns" / "mlflow.db"
        client = MlflowClient(f"sqlite:///{db}")
        exp = client.get_experiment_by_name("smoke")
        unfinished = [r for r in client.search_runs([exp.experiment_id]) if r.info.status != "FINISHED"]
        resumed = {r.info.run_id: _cli([f"resume={r.info.run_id}", "progress=false"], cwd) for r in unfinished}
        outputs += [p.communicate()[1] for p in resumed.values()]
        wall = time.perf_counter() - t0
        runs = client.search_runs([exp.experiment_id])
        finished = {r.data.params["seed"] for r in runs if r.info.status == "FINISHED"}
        return {"wall_s": round(wall, 1), "jobs": jobs, "runs": len(runs),
                "faults": {f"seed {w}": signal.Signals(s).name for w, s in victims.items()},
                "exit_codes": codes, "resumed": len(resumed),
                "resume_exit_codes": [p.returncode for p in resumed.values()], "lost": jobs - len(finished),
                "locked": sum("database is locked" in o for o in outputs)}


def _stop_when_checkpointed(procs: dict, victims: dict, cwd: Path) -> list[str]:
    """Send each victim its signal once a checkpoint of its run exists; wait for all; stderr texts."""
    from mlflow.tracking import MlflowClient

    pending, client, seeds = dict(victims), None, {}
    while pending and any(p.poll() is None for p in procs.values()):
        time.sleep(0.05)
        paths = list(cwd.glob("mlruns/artifacts/*/*/artifacts/checkpoints/last.pt"))
        if paths and client is None:  # a checkpoint: the store is complete, safe to open
            client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
        for path in paths:
            run_id = path.parents[2].name
            if run_id not in seeds:
                seeds[run_id] = int(client.get_run(run_id).data.params["seed"])
            seed = seeds[run_id]
            if seed in pending and procs[seed].poll() is None:
                procs[seed].send_signal(pending.pop(seed))
    return [p.communicate()[1] for p in procs.values()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5, help="runs per job")
    ap.add_argument("--steps", type=int, default=100, help="metric steps per run")
    ap.add_argument("--every", type=int, default=10, help="steps between checkpoints")
    ap.add_argument("--trials", type=int, default=3, help="fresh stores per mode")
    ap.add_argument("--kill", type=int, default=0, help="workers to SIGKILL per trial")
    ap.add_argument("--die-at", type=int, default=None, help="killed workers die at this step of their first run")
    ap.add_argument("--mode", choices=["rgexp", "naive", "naive-warm", "both"], default="both")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--e2e", action="store_true", help="real `python -m rgexp` jobs instead")
    ap.add_argument("--quick", action="store_true", help="1 trial of 4 jobs x 2 runs")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if a.e2e:
        print(json.dumps(e2e(a.jobs, a.kill, rng)))
        return
    if a.quick:
        a.trials, a.runs = 1, 2
    modes = ["rgexp", "naive"] if a.mode == "both" else [a.mode]
    print(f"{a.jobs} jobs x {a.runs} runs, {a.steps} steps, checkpoint every {a.every}, "
          f"{a.trials} fresh stores per mode, {a.kill} workers SIGKILLed per trial")
    for mode in modes:
        for t in range(a.trials):
            r = trial(mode, a.jobs, a.runs, a.steps, a.every, a.kill, rng, a.die_at)
            kinds = {k: [e[0] for e in r["errors"]].count(k) for k in sorted({e[0] for e in r["errors"]})}
            broken = " (store left unreadable)" if r.get("store_broken") else ""
            broken += f", workers crashed {r['crashed']}" if r["crashed"] else ""
            print(f"{mode} trial {t}: runs {a.jobs * a.runs}, lost {r['lost']}{broken}, errors {kinds or 0}, "
                  f"steps logged twice {r['duplicate_steps']}, resumed {r['resumed']}, restarted "
                  f"{r['restarted']}, wall {r['wall_s']:.1f} s", flush=True)
            for kind in kinds:  # one example of each kind of failure
                print(f"      e.g. {next(e[1] for e in r['errors'] if e[0] == kind)}")


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # inherited by the workers
    main()
