"""The project as a user gets it: a wheel, installed into a fresh venv, runs the smoke preset from a
directory that is not the repository (so the Hydra configs must travel inside the package).

The fresh venv borrows the dependencies (torch, MLflow, …) of the interpreter running the tests
through a ``.pth`` file written after the wheel is installed, so nothing is downloaded; pip runs
with ``--no-index --no-deps``. The sources are copied to a temporary directory before the build,
which writes ``build/`` and ``*.egg-info`` next to them: the checkout stays as it was.

Slow (35–41 s on 2 shared cores): ~2 s build, ~2 s venv and install, ~12 s compiling the numba
kernels afresh (their cache sits next to the installed sources), ~22 s the smoke run itself.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The smoke preset made smaller: one epoch, one flow step, no thermometer, receptive fields, Δ fits or
# figures (each computed and tested elsewhere; here the question is whether the package runs at all).
SMALL = ["progress=false", "tracking.figures=false", "model.train.epochs=1", "flow.n_steps=1",
         "analysis.thermometer=null", "analysis.receptive=null", "analysis.scaling=null"]
_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}


def _run(args: list, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=_CLEAN_ENV, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of pyproject.toml, README.md and src/ (no caches, no egg-info)."""
    source = tmp / "source"
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "*.nbi", "*.nbc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
          "-w", tmp / "dist", source], cwd=tmp, timeout=300)
    (wheel,) = (tmp / "dist").glob("rgexp-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A venv holding only the wheel; the test interpreter's packages are made visible afterwards
    (pip must not see the checkout's editable install while it installs)."""
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, timeout=120)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel],
         cwd=tmp, timeout=300)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, 60)
                .stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.slow
def test_wheel_holds_the_configs_and_runs_the_smoke_preset_from_anywhere(tmp_path):
    wheel = _build_wheel(tmp_path)
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".yaml")}
    conf = ROOT / "src" / "rgexp" / "conf"
    expected = {f"rgexp/conf/{p.relative_to(conf).as_posix()}" for p in conf.rglob("*.yaml")}
    expected |= {"rgexp/report/claims.yaml"}  # the report's claims, read as package data
    assert expected and shipped == expected, f"missing from the wheel: {sorted(expected - shipped)}"

    python = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([python, "-c", "import rgexp, rgexp.cli; print(rgexp.__file__); print(rgexp.cli.CONFIG_DIR)"],
                 work, 120).stdout.split()
    venv = tmp_path / "venv"
    assert all(Path(p).is_relative_to(venv) for p in where), f"rgexp not imported from the fresh venv: {where}"

    root = tmp_path / "mlruns"
    _run([python, "-m", "rgexp", "experiment=smoke", f"tracking.root={root}", f"cache.directory={tmp_path / 'cache'}",
          *SMALL], work, 600)
    with sqlite3.connect(root / "mlflow.db") as db:
        statuses = [status for (status,) in db.execute("SELECT status FROM runs")]
    assert statuses == ["FINISHED"]
