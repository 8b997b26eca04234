"""``python -m rgexp [overrides] [-m sweep overrides]``: Hydra wraps :func:`rgexp.pipeline.run`.

The argv fix-up moves ``-m``/``--multirun`` in front of all overrides: hydra-core 1.3's argument
parser rejects overrides on both sides of the flag (upstream issue #3053).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rgexp.errors import ConfigError, Interrupted

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "conf")
MULTIRUN_FLAGS = ("-m", "--multirun")


def fix_argv(argv: list[str]) -> list[str]:
    """``prog a=1 -m b=1,2`` -> ``prog -m a=1 b=1,2`` (a no-op without ``-m``)."""
    if not any(a in MULTIRUN_FLAGS for a in argv[1:]):
        return argv
    return [argv[0], "-m", *[a for a in argv[1:] if a not in MULTIRUN_FLAGS]]


def hydra_tags() -> tuple[dict[str, str], list[str]]:
    """MLflow tags from Hydra's runtime (overrides, sweep id, job number) and the task overrides."""
    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    tags = {"hydra_overrides": " ".join(overrides) or "(none)"}
    if hc.mode == RunMode.MULTIRUN:
        sweep_dir = str(Path(hc.sweep.dir).resolve())
        tags["sweep_id"] = hashlib.sha1(sweep_dir.encode()).hexdigest()[:12]
        tags["sweep_dir"] = sweep_dir
        tags["job_num"] = str(hc.job.num)
    return tags, overrides


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _task(cfg: DictConfig) -> None:
    from rgexp.pipeline import run

    tags, overrides = hydra_tags()
    try:
        result = run(cfg, tags=tags, overrides=overrides)
    except ConfigError as err:
        print(f"rgexp: error: {err}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as err:
        run_id = getattr(err, "run_id", "<run_id>")
        print(f"rgexp: interrupted ({err}); resume with: python -m rgexp resume={run_id}", file=sys.stderr)
        sys.exit(130)
    print(f"rgexp: run {result['run_id']} {result['status']}")


def main() -> None:
    sys.argv = fix_argv(sys.argv)
    _task()


if __name__ == "__main__":
    main()
