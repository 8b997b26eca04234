"""Every kind of bad input, through the command line: one line naming the problem, a non-zero exit,
nothing written (no MLflow store or run, no data, no checkpoint; a resumed run left as it was).

Mistakes that the override grammar or Hydra's composition catches run as real subprocesses (they
fail before torch and MLflow are imported, in under a second each). Value mistakes go through the
same entry point, ``rgexp.__main__.main``, in this process: a subprocess would spend ~6 s on
imports per case to reach the same code. Resume mistakes use runs of a store made for them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from rgexp.__main__ import main
from tests.conftest import compose_config, run_cli

CLI, MAIN, RESUME = "cli", "main", "resume"
SAMPLER_OPTIONS = "allowed sampler: chain1d, long_range, metropolis, swendsen_wang, wolff"
TEMPERATURES = "sampler.temperatures must be a non-empty list of finite numbers > 0"

# (id, how, arguments after ``experiment=smoke`` (or the preset they name), what the one error line
# must contain)
CASES = [
    ("malformed-override", CLI, ["seed=[1,2"], ["malformed override 'seed=[1,2'"]),
    ("override-without-value", CLI, ["sampler.L"], ["malformed override 'sampler.L'", "key=value"]),
    ("malformed-sweep", CLI, ["-m", "seed=0,1,"], ["malformed override 'seed=0,1,'"]),
    ("unknown-key", CLI, ["sampler.foo=1"], ["unknown key 'sampler.foo'; allowed: L, temperatures, n_samples"]),
    ("unknown-top-level-key", CLI, ["sed=1"], ["unknown key 'sed'; allowed:", "seed"]),
    ("unknown-option", CLI, ["sampler=glauber"], ["'sampler/glauber'", SAMPLER_OPTIONS]),
    ("unknown-option-in-sweep", CLI, ["-m", "sampler=wolff,glauber"], ["'sampler/glauber'", SAMPLER_OPTIONS]),
    ("group-given-a-number", CLI, ["model=3"], ["model=3", "allowed model: rbm, stacked_rbm"]),
    ("unknown-launcher", CLI, ["hydra/launcher=slurm"],
     ["'hydra/launcher/slurm'", "allowed hydra/launcher: basic, joblib, submitit_local, submitit_slurm"]),
    ("launcher-wrong-type", CLI, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=many"],
     ["hydra.launcher.n_jobs=many", "could not be converted to Integer"]),
    ("wrong-type", MAIN, ["model.net.n_hidden=abc"], ["model.net.n_hidden must be int, got 'abc'"]),
    ("float-for-int", MAIN, ["seed=1.5"], ["seed must be int, got 1.5"]),
    ("unknown-literal", MAIN, ["model.net.units=ternary"], ["model.net.units must be one of 'spin', 'binary'"]),
    ("zero-hidden-units", MAIN, ["model.net.n_hidden=0"], ["model.net.n_hidden must be a positive int, got 0"]),
    ("stack-does-not-fit-lattice", MAIN, ["model=stacked_rbm", "model.layers=[50,20]"],
     ["layers[0] must equal the number of visible units (L² = 64), got 50"]),
    ("L-not-divisible-by-blocks", MAIN, ["sampler.L=6"],
     ["L = 6 is not divisible by b^n_steps = 2^2 = 4", "sampler.L"]),
    ("block-larger-than-lattice", MAIN, ["rg.b=3"], ["L = 8 is not divisible by b^n_steps = 3^2 = 9"]),
    ("zero-temperature", MAIN, ["sampler.temperatures=[0.0,1.5]"], [TEMPERATURES, "got [0.0, 1.5]"]),
    ("negative-temperature", MAIN, ["sampler.temperatures=[-1.0,1.5]"], [TEMPERATURES, "got [-1.0, 1.5]"]),
    ("sigma-above-2", MAIN, ["sampler=long_range", "sampler.sigma=2.5"], ["sampler.sigma must be in (0, 2]", "got 2.5"]),
    ("sigma-zero", MAIN, ["sampler=long_range", "sampler.sigma=0.0"], ["sampler.sigma must be in (0, 2]", "got 0.0"]),
    ("negative-n-samples", MAIN, ["sampler.n_samples=-5"], ["sampler.n_samples must be an integer >= 1, got -5"]),
    ("batch-larger-than-data", MAIN, ["model.train.batch_size=1000"],
     ["model.train.batch_size must be <= the number of training samples 540", "got 1000"]),
    ("bad-value-in-one-sweep-job", MAIN, ["-m", "seed=0,1", "sampler.L=8,6"],
     ["sweep job #1 (seed=0 sampler.L=6): rg: L = 6 is not divisible"]),
    ("bad-list-in-one-sweep-job", MAIN, ["-m", "train_temperatures=[1.5],[-1.0]"],
     ["sweep job #1 (train_temperatures=[-1.0]): train_temperatures must be a non-empty list of T > 0"]),
    ("preset-sweep-job-does-not-fit", MAIN, ["-m", "experiment=coarse_graining", "sampler.L=16"],
     ["sweep job #0 (model.layers=[1024,256,64]):", "(L² = 256), got 1024"]),
    ("unknown-thermometer-reading", MAIN, ["analysis.thermometer.reading=median"],
     ["analysis.thermometer.reading must be one of 'mean', 'likelihood'", "got 'median'"]),
    ("thermometer-grid-of-one", MAIN, ["analysis.thermometer.temperatures=[2.0]"],
     ["temperatures must be null or a list of >= 2 distinct finite numbers > 0, got [2.0]"]),
    ("thermometer-samples-without-grid", MAIN, ["analysis.thermometer.n_samples=100"],
     ["n_samples applies to fresh thermometer data only"]),
    ("unknown-binning", MAIN, ["experiment=rbm_flow", "analysis.binned.by=[thermo]"],
     ["analysis.binned.by must be one of 'network', 'energy'", "got ['thermo']"]),
    ("binned-without-thermometer", MAIN, ["experiment=rbm_flow", "analysis.thermometer=null", "analysis.fixed_point=null"],
     ["analysis.binned needs analysis.thermometer", "set analysis.binned=null"]),
    ("fixed-point-without-thermometer", MAIN, ["experiment=rbm_flow", "analysis.thermometer=null"],
     ["analysis.fixed_point needs analysis.thermometer", "set analysis.fixed_point=null"]),
    ("fixed-point-without-thermometer", MAIN, ["experiment=iso_flow", "analysis.thermometer=null"],
     ["analysis.fixed_point needs analysis.thermometer", "set analysis.fixed_point=null"]),
    ("tracking-server-down", MAIN, ["tracking.uri=http://127.0.0.1:1"],
     ["tracking.uri=http://127.0.0.1:1: the tracking server cannot be reached: connection refused",
      "or use tracking=local"]),
    ("tracking-server-down-in-a-sweep", MAIN, ["tracking.uri=http://127.0.0.1:1", "-m", "seed=0,1"],
     ["sweep job #0 (seed=0): tracking.uri=http://127.0.0.1:1: the tracking server cannot be reached"]),
    ("preset-key-not-fitting-the-chosen-option", MAIN, ["sampler=chain1d"],
     ["unknown key 'sampler.L'; allowed: N,", "(set by experiment=smoke, which does not fit"]),
    ("unknown-device", MAIN, ["device=tpu"], ["device must be one of 'auto', 'cpu', 'cuda', got 'tpu'"]),
    ("cuda-without-gpu", MAIN, ["device=cuda"], ["device=cuda but no CUDA device", "allowed: auto, cpu"]),
    ("negative-checkpoint-interval", MAIN, ["checkpoint_every=-1"], ["checkpoint_every must be >= 0, got -1"]),
    ("resume-unknown-run", MAIN, ["resume=0123456789abcdef"], ["resume=0123456789abcdef: no such run"]),
    ("resume-missing-checkpoint", RESUME, ["resume={no_checkpoint}"], ["has no checkpoint checkpoints/last.pt"]),
    ("resume-corrupt-checkpoint", RESUME, ["resume={corrupt}"], ["checkpoint of run", "is corrupt"]),
    ("resume-foreign-checkpoint", RESUME, ["resume={foreign}"],
     ["the checkpoint was made with another config than the run's (differs in seed)"]),
    ("resume-changed-config", RESUME, ["resume={good}", "model.net.n_hidden=7"],
     ["refusing overrides that would change results: model.net.n_hidden (run: 64, now: 7)"]),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A store with one run per resume mistake, each KILLED with (or without) a checkpoint."""
    from rgexp.tracking import MLflowTracker, flatten

    base = tmp_path_factory.mktemp("resume-store")
    isolated = [f"tracking.root={base / 'mlruns'}", f"cache.directory={base / 'cache'}"]
    cfg = compose_config(["experiment=smoke", *isolated])
    yaml = OmegaConf.to_yaml(cfg, resolve=True)
    other = OmegaConf.to_yaml(compose_config(["experiment=smoke", "seed=5", *isolated]), resolve=True)
    tracker = MLflowTracker(root=str(base / "mlruns"), experiment="smoke")
    params = flatten(OmegaConf.to_container(cfg, resolve=True))
    ids = {}
    for name, checkpoint in [("good", {"trainer": {}, "config": yaml}), ("no_checkpoint", None),
                             ("corrupt", b"\x80\x02 not a checkpoint"), ("foreign", {"trainer": {}, "config": other})]:
        run = tracker.start(name, yaml, params, {})
        if isinstance(checkpoint, dict):
            run.save_checkpoint(checkpoint)
        elif checkpoint is not None:
            run._write_bytes(checkpoint, "checkpoints/last.pt")
        run.end("KILLED")
        ids[name] = run.run_id
    GlobalHydra.instance().clear()
    return {"dir": base, "ids": ids, "isolated": isolated}


def _snapshot(base: Path) -> dict:
    """Everything a resume could touch: each run's status and end time, every artifact's bytes."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{base / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    files = {p: p.read_bytes() for p in (base / "mlruns" / "artifacts").rglob("*") if p.is_file()}
    return {"runs": {r.info.run_id: (r.info.status, r.info.end_time, len(r.data.metrics)) for r in runs},
            "files": files}


def _run_main(args: list[str], cwd: Path, monkeypatch, capfd) -> tuple[int, str]:
    """``python -m rgexp ARGS`` through :func:`rgexp.__main__.main` in this process."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["rgexp", *args])
    capfd.readouterr()
    GlobalHydra.instance().clear()
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    finally:
        GlobalHydra.instance().clear()
    return code, capfd.readouterr().err


MARKS = {"cuda-without-gpu": pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")}


@pytest.mark.parametrize("name,how,args,expected", [pytest.param(*c, id=c[0], marks=MARKS.get(c[0], ())) for c in CASES])
def test_bad_input_is_one_line_a_nonzero_exit_and_nothing_written(name, how, args, expected, tmp_path,
                                                                   monkeypatch, capfd, request):
    preset = next((a for a in args if a.startswith("experiment=")), "experiment=smoke")
    args = [preset, "progress=false", *(a for a in args if not a.startswith("experiment="))]
    if how == CLI:
        proc = run_cli(args, cwd=tmp_path, timeout=120)
        code, err = proc.returncode, proc.stderr
    elif how == MAIN:
        code, err = _run_main(args, tmp_path, monkeypatch, capfd)
    else:
        store = request.getfixturevalue("store")
        args = [a.format(**store["ids"]) for a in args] + store["isolated"]
        before = _snapshot(store["dir"])
        code, err = _run_main(args, tmp_path, monkeypatch, capfd)
        assert _snapshot(store["dir"]) == before, "a refused resume changed the run"
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err[-2000:]
    assert lines and lines[-1].startswith("rgexp: error: "), err[-2000:]
    assert [line for line in lines if line.startswith("rgexp:")] == [lines[-1]]
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[-1], lines[-1]
    # Nothing written where the command ran: no store, no data, no sweep.
    assert not {"mlruns", ".rgexp_cache", "multirun"} & {p.name for p in tmp_path.iterdir()}
