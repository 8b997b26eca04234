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


# Hydra flags after which the command line is not a plain list of overrides: leave those to Hydra.
_OTHER_FLAGS = ("-c", "--cfg", "-p", "--package", "-i", "--info", "-cn", "--config-name",
                "-cp", "--config-path", "-cd", "--config-dir", "--experimental-rerun", "-h", "--help",
                "--hydra-help", "--run", "-r", "--shell-completion", "-sc")


def _one_line(err: Exception, overrides: list[str]) -> str:
    """Hydra's multi-line composition errors as one line naming the key and what is allowed."""
    text = str(err)
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if lines[0].startswith("Could not override") and "To append" in text:
        key = lines[0].split("'")[1]
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        allowed = _keys_of(parent, [o for o in overrides if not o.startswith(key + "=")])
        return f"unknown key '{key}'; allowed: {allowed}"
    if text.startswith("In 'config': Could not find") or "Could not load" in text:
        group = lines[0].split("'")[3].split("/")[0] if lines[0].count("'") >= 4 else ""
        options = sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml")) if group else []
        return f"{lines[0]}; allowed {group}: {', '.join(options)}" if options else lines[0]
    return "; ".join(lines[:2])


def _keys_of(node: str, overrides: list[str]) -> str:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    sub = OmegaConf.select(cfg, node) if node else cfg
    return ", ".join(k for k in sub.keys() if not str(k).startswith("_")) if sub is not None else "?"


def preflight(argv: list[str]) -> str | None:
    """Compose the config once with the non-sweep overrides; a composition error as one line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = argv[1:]
    if any(a in _OTHER_FLAGS or a.split("=")[0] in _OTHER_FLAGS for a in args):
        return None
    overrides = [a for a in args if a not in MULTIRUN_FLAGS]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as err:  # a malformed override
        return "malformed override: " + str(err).splitlines()[0]
    plain = [o.input_line for o in parsed if not o.is_sweep_override() and not o.key_or_group.startswith("hydra")]
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            compose("config", overrides=plain)
    except Exception as err:
        GlobalHydra.instance().clear()
        return _one_line(err, plain)
    GlobalHydra.instance().clear()
    return None


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
    problem = preflight(sys.argv)
    if problem is not None:
        print(f"rgexp: error: {problem}", file=sys.stderr)
        sys.exit(2)
    _task()


if __name__ == "__main__":
    main()
