"""Shared fixtures: compose the real configs (shrunk), with MLflow and the data cache in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# One pytest worker per core (``-n auto``): each worker, and every process it starts, computes on one
# thread. Two threads in each of two workers on two cores oversubscribe them: OpenMP's and numba's
# threads spin and then wait for a core the other worker holds (the whole suite's CPU time fell from
# 1,285 to 1,161 s with one thread). Set before torch and numba are imported; a user's value is kept.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.core.global_hydra import GlobalHydra  # noqa: E402

import rgexp.cli  # noqa: F401  (registers the structured configs that the YAML files extend)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "rgexp" / "conf"


FIGURES = "tracking.figures=true"  # the override of the tests that check a run's figures


def compose_config(overrides: list[str]):
    """The real ``conf/config.yaml`` composed with ``overrides`` (Hydra's compose API)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides)


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory) -> Path:
    """One MLflow store and data cache for the session (creating a SQLite store costs seconds)."""
    return tmp_path_factory.mktemp("rgexp")


def isolated_overrides(root: Path) -> list[str]:
    """Overrides pointing MLflow and the cache into ``root``, no progress bars, no rendered figures
    (most of a small run's cost; tests of figures add ``FIGURES``)."""
    return [f"tracking.root={root / 'mlruns'}", f"cache.directory={root / 'cache'}", "progress=false",
            "tracking.figures=false"]


@pytest.fixture
def isolated(shared_root):
    """:func:`isolated_overrides` of the session's temporary root."""
    return isolated_overrides(shared_root)


@pytest.fixture
def mlflow_client(shared_root):
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{shared_root / 'mlruns' / 'mlflow.db'}")


@pytest.fixture
def smoke_cfg(isolated):
    def make(*overrides: str):
        return compose_config(["experiment=smoke", *isolated, *overrides])

    return make


def run_cli(args: list[str], cwd: Path, timeout: float = 600, env_extra: dict | None = None):
    """``python -m rgexp ARGS`` in a subprocess (end-to-end: Hydra, argv fix-up, exit codes)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "rgexp", *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env=env,
    )


# The longest files (CI's --durations, longest first): only an order of starting, so a stale entry costs
# a little balance and nothing else.
LONGEST = ("test_sweep_cli.py", "test_tracking_postgres.py", "test_presets.py", "test_tracking_server.py",
           "test_pipeline.py", "test_long_range_published.py", "test_observables.py", "test_cli.py",
           "test_faults.py", "test_reproduce.py", "test_wheel.py", "test_bad_input.py", "test_launchers.py",
           "test_subnormals.py", "test_fixed_point_stage.py")


def pytest_collection_modifyitems(config, items):
    """The longest files first, then the other files with slow tests, then the rest. pytest-xdist's
    workers take a whole file at a time (``--dist loadfile``) in collection order: started first,
    the long files run beside the many short ones instead of ending the suite alone on one worker
    while the other idles. pytest-randomly shuffles the files and their tests before this sort, which is
    stable: the order within each rank stays the shuffled one."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item) -> tuple[int, int]:
        name = item.path.name
        return (0, LONGEST.index(name)) if name in LONGEST else (1 if item.path in slow_files else 2, 0)

    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_terminal_summary(terminalreporter, config):
    """The test order's seed at the end of every run (``-q`` hides pytest-randomly's header line), so
    that a failure that needs another test first can be repeated in the same order."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and not hasattr(config, "workerinput"):
        terminalreporter.write_line(f"test order: shuffled by pytest-randomly; repeat it with -p randomly "
                                    f"--randomly-seed={seed} (-p no:randomly: file order)")
