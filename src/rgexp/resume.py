"""Resume a logged run: its own config back, result-changing overrides refused, checkpoint loaded.

``python -m rgexp resume=<run_id>`` composes the default config, but what runs is the config the
run was started with; only keys that cannot change the numbers (``HARMLESS``) are taken from the
command line. Everything is checked before the run is touched: a missing run, a changed config or
a missing/corrupt checkpoint is a ConfigError and the run stays as it was. A run on a tracking
server that went away mid-run resumes from the local copy of its checkpoint (written before each
upload, so never older than the server's), after uploading what it kept while the server was away
(:meth:`rgexp.tracking.MLflowTracker.reopen`).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from rgexp.config import GROUPS, HARMLESS, flat_items, instantiate_node
from rgexp.errors import ConfigError
from rgexp.tracking.probe import unreachable

__all__ = ["prepare", "changed_keys", "HARMLESS"]


def _plain(cfg: DictConfig) -> dict[str, Any]:
    tree = OmegaConf.to_container(cfg, resolve=True)
    return {k: v for k, v in tree.items() if k not in HARMLESS}


def changed_keys(cfg: DictConfig, logged: DictConfig, overrides: list[str] | None) -> list[str]:
    """Dotted keys whose value in ``cfg`` differs from the logged config.

    With ``overrides`` (command-line strings) only what they touch is compared; without, all.
    """
    now, then = flat_items(_plain(cfg)), flat_items(_plain(logged))
    if overrides is None:
        prefixes = [""]
    else:
        prefixes = []
        for item in overrides:
            key = item.split("=", 1)[0].lstrip("+~")
            if key.split(".")[0] in HARMLESS or key.startswith("hydra/"):
                continue
            prefixes.append("" if key == "experiment" else key)
    keys = set(now) | set(then)
    hit = {k for k in keys for p in prefixes if p == "" or k == p or k.startswith(p + ".")}
    return sorted(k for k in hit if now.get(k, "<absent>") != then.get(k, "<absent>"))


def prepare(cfg: DictConfig, overrides: list[str] | None) -> tuple[DictConfig, dict]:
    """(config to run, checkpoint) for ``cfg.resume``; ConfigError for anything wrong."""
    run_id = str(cfg.resume)
    tracker = instantiate_node(cfg.tracking, "tracking")
    problem = unreachable(tracker.uri)
    if problem is not None:  # before asking for the run: a missing server is not a missing run
        raise ConfigError(f"tracking.uri={tracker.uri}: the tracking server cannot be reached: {problem}; "
                          f"resume=… needs it: start it, then run the command again")
    if not tracker.run_exists(run_id):
        raise ConfigError(f"resume={run_id}: no such run in the tracking store {tracker.uri}")
    try:
        logged = OmegaConf.create(tracker.logged_config(run_id))
    except FileNotFoundError as err:
        raise ConfigError(f"resume={run_id}: {err}; it was not started by rgexp") from None
    changed = changed_keys(cfg, logged, overrides)
    if changed:
        detail = ", ".join(
            f"{k} (run: {OmegaConf.select(logged, k)}, now: {OmegaConf.select(cfg, k)})" for k in changed[:5]
        )
        raise ConfigError(f"resume={run_id}: refusing overrides that would change results: {detail}")
    try:
        checkpoint = tracker.load_checkpoint(run_id)
    except FileNotFoundError as err:
        raise ConfigError(f"resume={run_id}: {err}; it stopped before its first checkpoint (a second "
                          f"Ctrl-C stops at once): run the command again without resume=") from None
    except ValueError as err:
        raise ConfigError(f"resume={run_id}: {err}".splitlines()[0]) from None
    _check_checkpoint(run_id, checkpoint, logged)
    merged = OmegaConf.merge(logged, {k: cfg[k] for k in HARMLESS if k in cfg and k != "hydra"})
    missing = [g for g in GROUPS if g not in merged]
    if missing:
        raise ConfigError(f"resume={run_id}: the logged config lacks groups {missing}")
    return merged, checkpoint


def _check_checkpoint(run_id: str, checkpoint: Any, logged: DictConfig) -> None:
    """A loadable file is not enough: it must be an rgexp checkpoint made with this run's config
    (a checkpoint copied over from another run would otherwise resume into the wrong numbers)."""
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("trainer"), dict) \
            or not isinstance(checkpoint.get("config"), str):
        raise ConfigError(f"resume={run_id}: the checkpoint is not an rgexp training checkpoint "
                          "(needs 'trainer' and 'config' entries)")
    try:
        saved = OmegaConf.create(checkpoint["config"])
    except Exception:  # noqa: BLE001 — any YAML error means the same thing here
        raise ConfigError(f"resume={run_id}: the checkpoint's config is not readable YAML") from None
    differ = changed_keys(saved, logged, None)
    if differ:
        raise ConfigError(f"resume={run_id}: the checkpoint was made with another config than the run's "
                          f"(differs in {', '.join(differ[:5])})")
