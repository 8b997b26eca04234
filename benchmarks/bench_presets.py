"""Wall time, peak memory and the per-stage split of each preset, each run from an empty cache.

    python benchmarks/bench_presets.py --scale quick|paper [--presets a,b] [--repeats N]
                                       [--bare-loop [UPDATES]] [--out results.json] [-- OVERRIDE ...]

Every run is ``python -m rgexp experiment=<preset> scale=<scale>`` in a fresh process, with its own
new temporary directory for the data cache and the MLflow store (so the Monte Carlo stage runs, and
the store is created, as on a first run), ``progress=false quiet=true``; overrides after ``--`` are
added to every run (e.g. ``-- device=cpu``). Measured per run:

- wall: seconds from starting the process to its exit (interpreter start, imports, store creation
  and Hydra included: the "other" column is wall minus the run's own ``perf/total_seconds``);
- peak RSS: the child's ``ru_maxrss`` from ``os.wait4`` on that child (its own peak, and that of
  any children it reaped; not a sum), next to the run's own ``perf/peak_rss_gb``;
- the per-stage seconds the run logged (``perf/<stage>_seconds``, rgexp.perf) read back from its
  store, and the training split (``perf/train_*_seconds``) with the number of RBM updates from the
  run's final checkpoint.

With ``--repeats N`` each preset runs N times (each from an empty cache); the table shows the
fastest run (its stages) and the largest peak RSS. Numba's compiled kernels are cached next to the
source (``cache=True``): the first run after an install also compiles them.

The goal column is issue 18's, set for ``scale=paper``: at most 5 min and 2.5 GB per run (iso_flow,
whose 4,000,000 updates are the point of the preset, is held to the memory goal only).

``--bare-loop [UPDATES]`` (default 5,000 updates) also times, for every single-RBM preset run, a
bare torch CD-k loop of the same shapes: the run's weight matrix, batch size, k and epoch length,
{0,1} units, plain SGD, the straightforward tensor expressions (a new tensor per product, the
weights updated in place), on random binary data, for UPDATES updates in a fresh process, best of
3 on 1 thread and on torch's default threads — and prints it next to rgexp's training updates/s
(updates / ``perf/train_fit_seconds``, and the same without the time training spent on checkpoints,
fixed-point readings and metrics). It runs in the same invocation, right after the preset, so
both see the same machine; on a shared machine compare them only from a quiet moment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESETS_DIR = ROOT / "src" / "rgexp" / "conf" / "experiment"
SCALES_DIR = ROOT / "src" / "rgexp" / "conf" / "scales"

# issue 18's goals at scale=paper
GOAL_SECONDS, GOAL_GB = 300.0, 2.5
TIME_GOAL_EXEMPT = {"iso_flow"}

# the pipeline's stages in the order they run (the default `stages` list of rgexp/conf/config.yaml);
# any other perf/<stage>_seconds follow alphabetically
STAGE_ORDER = ["monte_carlo", "thermometers", "training", "criticality", "baseline", "rbm_flow", "block_rg",
               "stack_layers", "binned", "scaling_fits", "receptive", "chain_couplings"]
TRAINING_SPLIT = ["train_fit", "train_checkpoints", "train_fixed_point", "train_metrics"]


def available_presets(scale: str) -> list[str]:
    """Presets that have sizes for ``scale`` (conf/scales/<preset>/<scale>.yaml)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml") if (SCALES_DIR / p.stem / f"{scale}.yaml").exists())


# --------------------------------------------------------------------------------------- one run


def run_preset(preset: str, scale: str, extra: list[str], keep: bool = False) -> dict:
    """One ``python -m rgexp`` run of ``preset`` from an empty cache and store; what it cost."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_{preset}_"))
    try:
        args = [sys.executable, "-m", "rgexp", f"experiment={preset}", f"scale={scale}",
                f"tracking.root={tmp / 'mlruns'}", f"cache.directory={tmp / 'cache'}", "progress=false",
                "quiet=true", *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(tmp / "stdout.txt", "wb") as out, open(tmp / "stderr.txt", "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(args, cwd=tmp, stdout=out, stderr=err, env=env)
            # wait4 on this child alone: its own rusage (RUSAGE_CHILDREN would be the maximum over
            # every child this process has reaped so far, earlier presets included)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
        rss_kib = usage.ru_maxrss  # KiB on Linux, bytes on macOS
        peak_gb = rss_kib / 1e9 if sys.platform == "darwin" else rss_kib * 1024 / 1e9
        result = {"preset": preset, "scale": scale, "wall_s": wall, "peak_rss_gb": peak_gb,
                  "returncode": proc.returncode, "overrides": extra}
        if proc.returncode != 0:
            result["error"] = (tmp / "stderr.txt").read_text(errors="replace")[-2000:]
            return result
        return result | read_run(tmp / "mlruns")
    finally:
        if keep:
            print(f"# kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def read_run(store: Path) -> dict:
    """The perf/* metrics, the training hyperparameters and the number of RBM updates of the one run
    in ``store``."""
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    if len(runs) != 1:
        return {"error": f"expected one run in the store, found {len(runs)}"}
    run = runs[0]
    from rgexp.metric_names import PEAK_RSS_GB, SECONDS, parse_cost  # the perf/* names' contract

    costs = {cost: v for k, v in run.data.metrics.items() if (cost := parse_cost(k)) is not None}
    stages = {stage: v for (stage, quantity), v in costs.items() if quantity == SECONDS and stage is not None}
    out = {"run_id": run.info.run_id, "status": run.info.status,
           "total_s": costs.get((None, SECONDS), float("nan")), "logged_peak_rss_gb": costs.get((None, PEAK_RSS_GB)),
           "training_split_s": {k: stages.pop(k) for k in list(stages) if k.startswith("train_")},
           "stages_s": stages}
    params = run.data.params
    out["train"] = {k: params.get(f"model.train.{k}") for k in ("epochs", "batch_size", "k", "lr", "optimizer")}
    out |= checkpoint_shape(run.info.artifact_uri)
    return out


def checkpoint_shape(artifact_uri: str) -> dict:
    """Updates and weight shape of a single RBM from the run's final checkpoint (empty for a stack)."""
    import torch

    path = Path(artifact_uri.removeprefix("file://")) / "checkpoints" / "last.pt"
    if not path.exists():
        return {}
    trainer = torch.load(path, weights_only=True).get("trainer", {})
    weights = [v for k, v in trainer.get("model", {}).items() if k.endswith("weight") and v.ndim == 2]
    if "update" not in trainer or len(weights) != 1:
        return {}  # a stack: per-layer trainers, no single update count
    return {"updates": int(trainer["update"]), "weight_shape": list(weights[0].shape),
            "has_biases": any(k.endswith("bias") for k in trainer["model"])}


# ----------------------------------------------------------------------------------- bare loop


def bare_cd_loop(n_visible: int, n_hidden: int, batch: int, k: int, per_epoch: int, updates: int,
                 biases: bool) -> float:
    """Updates per second of a plain torch CD-k loop ({0,1} units, SGD, in place) of these shapes."""
    import torch

    g = torch.Generator().manual_seed(0)
    data = (torch.rand(per_epoch * batch, n_visible, generator=g) < 0.5).float()
    W = 0.1 * torch.randn(n_visible, n_hidden, generator=g)
    b, c = torch.zeros(n_visible), torch.zeros(n_hidden)
    lr = 0.01

    def step(v0: torch.Tensor) -> None:
        ph0 = torch.sigmoid(torch.addmm(c, v0, W) if biases else v0 @ W)
        h = torch.bernoulli(ph0, generator=g)
        for _ in range(k):
            v = torch.bernoulli(torch.sigmoid(torch.addmm(b, h, W.T) if biases else h @ W.T), generator=g)
            ph = torch.sigmoid(torch.addmm(c, v, W) if biases else v @ W)
            h = torch.bernoulli(ph, generator=g)
        W.addmm_(v0.T, ph0, alpha=lr / batch).addmm_(v.T, ph, alpha=-lr / batch)
        if biases:
            b.add_((v0 - v).mean(0), alpha=lr)
            c.add_((ph0 - ph).mean(0), alpha=lr)

    def loop(n: int) -> None:
        done = 0
        while done < n:
            perm = torch.randperm(data.shape[0], generator=g)
            for i in range(min(per_epoch, n - done)):
                step(data[perm[i * batch:(i + 1) * batch]])
            done += min(per_epoch, n - done)

    loop(min(updates, 200))  # warm-up
    t0 = time.perf_counter()
    loop(updates)
    return updates / (time.perf_counter() - t0)


def bare_worker(nv: int, nh: int, batch: int, k: int, per_epoch: int, updates: int, biases: bool,
                repeats: int = 3) -> tuple[float, int]:
    """The best updates/s of the bare loop over ``repeats`` timings each on 1 thread and on torch's
    default threads (small products run faster on one thread, as rgexp's trainer runs them; on a
    loaded machine many threads can be several times slower), and the thread count that gave it."""
    import torch

    default = torch.get_num_threads()
    best: tuple[float, int] = (0.0, default)
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        for _ in range(repeats):
            best = max(best, (bare_cd_loop(nv, nh, batch, k, per_epoch, updates, biases), threads))
    torch.set_num_threads(default)
    return best


def bare_reference(result: dict, updates: int) -> tuple[float, int] | None:
    """(updates/s, threads) of the bare loop for ``result``'s shapes, in a fresh process."""
    shape, train = result.get("weight_shape"), result.get("train", {})
    if not shape or not result.get("updates") or not train.get("epochs") or not train.get("batch_size"):
        return None
    per_epoch = max(1, result["updates"] // int(train["epochs"]))
    cmd = [sys.executable, __file__, "--bare-worker", *map(str, (*shape, train["batch_size"], train.get("k") or 1,
                                                                per_epoch, updates, int(result["has_biases"])))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate, threads = out.strip().splitlines()[-1].split()
    return float(rate), int(threads)


# -------------------------------------------------------------------------------------- output


def stage_columns(results: list[dict]) -> list[str]:
    seen = {s for r in results for s in r.get("stages_s", {})}
    return [s for s in STAGE_ORDER if s in seen] + sorted(seen - set(STAGE_ORDER))


def goal(result: dict) -> str:
    """Issue 18's goals (set for scale=paper): ≤ 5 min, ≤ 2.5 GB; iso_flow: memory only."""
    if result.get("returncode") != 0 or "error" in result:
        return "run failed"
    misses = []
    if result["preset"] not in TIME_GOAL_EXEMPT and result["wall_s"] > GOAL_SECONDS:
        misses.append(f"time > {GOAL_SECONDS / 60:.0f} min")
    if result["peak_rss_gb"] > GOAL_GB:
        misses.append(f"memory > {GOAL_GB} GB")
    verdict = "; ".join(misses) if misses else "met"
    if result["preset"] in TIME_GOAL_EXEMPT and not misses:
        verdict += " (memory; no time goal)"
    return verdict + ("" if result["scale"] == "paper" else " (goals are for paper)")


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def best_of(runs: list[dict]) -> dict:
    """The fastest successful run, with the largest peak RSS of all the repeats."""
    ok = [r for r in runs if r.get("returncode") == 0 and "error" not in r]
    if not ok:
        return runs[-1]
    best = dict(min(ok, key=lambda r: r["wall_s"]))
    best["peak_rss_gb"] = max(r["peak_rss_gb"] for r in ok)
    best["walls_s"] = [r["wall_s"] for r in ok]
    return best


def markdown(results: list[dict]) -> str:
    """The table of docs/benchmarks.md (The presets): one row per preset."""
    cols = stage_columns(results)
    head = ["preset", "scale", "wall (s)", "peak RSS (GB)", *cols, "other", "goal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if "stages_s" in r:
            stages, other = [_s(r["stages_s"].get(c)) for c in cols], _s(r["wall_s"] - r["total_s"])
        else:  # a failed run: nothing logged
            stages, other = ["—"] * len(cols), "—"
        cells = [r["preset"], r["scale"], _s(r["wall_s"]), f"{r['peak_rss_gb']:.2f}", *stages, other, goal(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def training_table(results: list[dict]) -> str:
    """Where training's time goes, and rgexp's updates/s (against the bare loop where timed)."""
    head = ["preset", "training (s)", *[c.removeprefix("train_") for c in TRAINING_SPLIT], "updates",
            "upd/s (fit)", "upd/s (fit − rest)", "bare torch upd/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if "stages_s" not in r:
            continue
        split = r["training_split_s"]
        n, fit = r.get("updates"), split.get("train_fit")
        rest = sum(split.get(k, 0.0) for k in TRAINING_SPLIT[1:])
        rate = f"{n / fit:.0f}" if n and fit else "—"
        pure = f"{n / (fit - rest):.0f}" if n and fit and fit > rest else "—"
        bare = (f"{r['bare_updates_per_s']:.0f} ({r['bare_threads']} thr)" if r.get("bare_updates_per_s") else "—")
        lines.append(f"| {r['preset']} | {_s(r['stages_s'].get('training'))} | "
                     + " | ".join(_s(split.get(k)) for k in TRAINING_SPLIT)
                     + f" | {n if n else '—'} | {rate} | {pure} | {bare} |")
    return "\n".join(lines)


def report(results: list[dict], header: str) -> str:
    parts = [header, "", markdown(results), "", "Training (seconds; updates from the final checkpoint; "
             "'fit − rest': without checkpoints, fixed-point readings and metrics):", "", training_table(results)]
    failed = [r for r in results if r.get("returncode") != 0 or "error" in r]
    for r in failed:
        last = (r.get("error") or "").strip().splitlines()[-1:] or ["(no message)"]
        parts += ["", f"{r['preset']} failed (exit {r.get('returncode')}): {last[0]}"]
    multi = [r for r in results if len(r.get("walls_s", [])) > 1]
    if multi:
        parts += ["", "walls of the repeats (s): " + "; ".join(
            f"{r['preset']} " + ", ".join(f"{w:.1f}" for w in r["walls_s"]) for r in multi)]
    return "\n".join(parts)


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--bare-worker":
        nv, nh, batch, k, per_epoch, updates, biases = map(int, argv[1:])
        rate, threads = bare_worker(nv, nh, batch, k, per_epoch, updates, bool(biases))
        print(rate, threads)
        return
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["quick", "paper"], required=True)
    ap.add_argument("--presets", default="", help="comma-separated (default: every preset with sizes for --scale)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per preset, each from an empty cache (fastest shown)")
    ap.add_argument("--bare-loop", type=int, nargs="?", const=5000, default=0, metavar="UPDATES",
                    help="also time a bare torch CD-k loop of each single-RBM run's shapes (default 5000 updates)")
    ap.add_argument("--out", type=Path, help="write every run's measurements as JSON")
    ap.add_argument("--keep", action="store_true", help="keep each run's temporary directory (for debugging)")
    args = ap.parse_args(argv)
    presets = [p for p in args.presets.split(",") if p] or available_presets(args.scale)
    unknown = [p for p in presets if not (PRESETS_DIR / f"{p}.yaml").exists()]
    if unknown:
        known = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        ap.error(f"unknown preset(s) {', '.join(unknown)}; known: {known}")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    import torch

    header = (f"# rgexp bench_presets — scale={args.scale}, commit {_git_commit()}, "
              f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, "
              f"cpu_count {os.cpu_count()}, torch threads {torch.get_num_threads()}, "
              f"loadavg {os.getloadavg()[0]:.2f}; each run a fresh process from an empty cache and store"
              + (f"; overrides {' '.join(extra)}" if extra else "")
              + (f"; best of {args.repeats}" if args.repeats > 1 else ""))
    print(header, flush=True)
    results, everything = [], []
    for preset in presets:
        runs = []
        for i in range(args.repeats):
            r = run_preset(preset, args.scale, extra, keep=args.keep)
            runs.append(r)
            ok = r.get("returncode") == 0 and "error" not in r
            status = "ok" if ok else f"FAILED (exit {r.get('returncode')})"
            print(f"# {preset} run {i + 1}/{args.repeats}: {r['wall_s']:.1f} s, {r['peak_rss_gb']:.2f} GB peak, "
                  f"{status}", flush=True)
        best = best_of(runs)
        if args.bare_loop and best.get("updates"):
            bare = bare_reference(best, args.bare_loop)
            if bare is not None:
                best["bare_updates_per_s"], best["bare_threads"] = bare
                best["bare_updates"] = args.bare_loop
        results.append(best)
        everything.append({"preset": preset, "runs": runs, "shown": best})
    text = report(results, f"# loadavg at end {os.getloadavg()[0]:.2f}")
    print(text)
    if args.out:
        args.out.write_text(json.dumps({"header": header, "results": everything}, indent=1, default=str))
    if any(r.get("returncode") != 0 or "error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
