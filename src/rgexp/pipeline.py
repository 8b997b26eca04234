"""The orchestrator: ``run(cfg)`` takes a composed config through the stages its ``stages`` list
names (modules of :mod:`rgexp.stages`, e.g. monte_carlo, thermometers, training, rbm_flow,
block_rg, stack_layers, binned, scaling_fits, receptive), one MLflow run. Each stage draws from
streams keyed by (stage, temperature or start, step) of the one seed (rgexp.seeding).

Everything is validated and instantiated before the run starts, so a bad config costs nothing.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from typing import Any, Callable

import torch
from omegaconf import DictConfig, OmegaConf

import rgexp.models  # noqa: F401  (first: it flushes subnormals before any torch work; rgexp.models.subnormals)

from rgexp import resume as resume_mod
from rgexp import stages
from rgexp.stages import Parts  # noqa: F401  (re-exported: build_parts makes one)
from rgexp.config import RunSettings, check_config, instantiate_group
from rgexp.devices import resolve_device
from rgexp.errors import ConfigError, Interrupted
from rgexp.perf import release_free_heap
from rgexp.summary import run_summary, ui_address
from rgexp.seeding import stage_streams
from rgexp.tracking import TrackedRun, flatten
from rgexp.tracking.probe import unreachable

__all__ = ["run", "run_stages", "validate", "resolve_device"]


def build_parts(cfg: DictConfig) -> Parts:
    """Instantiate every group except the model (which needs the data's size); a tracking server
    that cannot be reached is refused here, before any work."""
    made = {g: instantiate_group(cfg[g], g) for g in ("sampler", "flow", "rg", "analysis", "tracking", "cache")}
    problem = unreachable(made["tracking"].uri)
    if problem is not None:  # before any work: MLflow's own retries would take minutes
        raise ConfigError(f"tracking.uri={made['tracking'].uri}: the tracking server cannot be reached: {problem}; "
                          "start it (mlflow server --host 127.0.0.1 --port 5000 …) or use tracking=local")
    return Parts(made["sampler"], made["flow"], made["rg"], made["analysis"], made["tracking"], made["cache"])


# SIGUSR2: what SLURM/submitit send ahead of a time limit (submitit's default ``--signal=USR2@90``);
# without a handler it would kill the job between checkpoints.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)


class _StopFlag:
    """A stop signal -> stop at the next safe point; a second signal stops at once.

    Safe points: every RBM update, between stages, and between temperatures of the flow stage.
    """

    def __init__(self, extra: Callable[[], bool] | None) -> None:
        self.extra = extra
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None or (self.extra is not None and self.extra())

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise Interrupted(f"stopped by signal {signum}")
        self.signum = signum

    @contextlib.contextmanager
    def installed(self):
        old = {}
        try:
            for sig in STOP_SIGNALS:
                old[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: rely on the injected stop only
            pass
        try:
            yield self
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def check(self, after: str, where: str = "") -> None:
        """Raise Interrupted at this safe point when a stop was asked for (``where``: a finer place
        inside stage ``after``, e.g. " at T = 2.2692")."""
        if self():
            raise Interrupted(f"stopped in the {after} stage{where}" if where else f"stopped after the {after} stage")


@dataclass
class Validated:
    """A config that has passed every check that needs no data, with what it instantiated."""

    cfg: DictConfig  # on resume: the logged config (with the allowed overrides applied)
    checkpoint: dict | None
    settings: RunSettings
    parts: Parts
    device: torch.device
    model: torch.nn.Module
    stages: list  # the stage modules that run, in order (rgexp.stages)


def validate(cfg: DictConfig, overrides: list[str] | None = None) -> Validated:
    """Every check ``run`` makes before it creates an MLflow run; writes nothing.

    Raises ConfigError (a one-line message naming the key and what is allowed) for bad input, and
    for a resume whose checkpoint is missing or corrupt or whose overrides would change results.
    ``python -m rgexp -m …`` calls it for every job of a sweep before the first one starts.
    """
    checkpoint = None
    if cfg.get("resume"):
        cfg, checkpoint = resume_mod.prepare(cfg, overrides)
    settings = check_config(cfg)
    parts = build_parts(cfg)
    device = resolve_device(settings.device)
    model = stages.build_model(cfg, parts.sampler.lattice_shape, stage_streams(settings.seed), device)
    v = Validated(cfg, checkpoint, settings, parts, device, model, [])
    ctx = _context(v, None)
    v.stages = stages.applicable(stages.resolve(list(cfg.stages)), ctx)
    stages.check_stages(v.stages, ctx)
    return v


def run(
    cfg: DictConfig,
    *,
    tags: dict[str, str] | None = None,
    overrides: list[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    run_name: str | None = None,
) -> dict[str, Any]:
    """Run every stage of ``cfg`` as one MLflow run and return its summary.

    ``overrides`` are the command-line overrides (used on resume to refuse result-changing ones);
    ``should_stop`` is polled at every safe point (each RBM update, between stages and between
    temperatures), as SIGINT/SIGTERM/SIGUSR2 are. ``tags`` are set on a new run; ``run_name`` names
    it (default ``<name>-seed<seed>``; a sweep's job: what varies, ``model=stacked_rbm seed=1``).
    Returns ``{"run_id", "status", "data_key", "metrics", "model", "summary"}`` (``summary``: the
    lines a run ends with, :func:`rgexp.summary.run_summary`).
    Raises ConfigError before any work for bad input, Interrupted after checkpointing on a stop.
    """
    v = validate(cfg, overrides)
    release_free_heap()  # what an earlier job of this process freed (a sweep's jobs share it)
    config_yaml = OmegaConf.to_yaml(v.cfg, resolve=True)
    if v.checkpoint is not None:
        tracked = v.parts.tracker.reopen(v.settings.resume)
    else:
        params = flatten({k: x for k, x in OmegaConf.to_container(v.cfg, resolve=True).items() if k != "hydra"})
        run_name = run_name or f"{v.settings.name}-seed{v.settings.seed}"
        tracked = v.parts.tracker.start(run_name, config_yaml, params, tags or {})
    stop = _StopFlag(should_stop)
    status = "FAILED"
    try:
        with stop.installed():
            summary = _execute(v, tracked, config_yaml, stop)
        status = "FINISHED"
        lines = run_summary(tracked.run_id, status, v.settings.name, tracked.latest,
                            *ui_address(v.parts.tracker.uri, tracked.experiment_id, tracked.run_id),
                            report=v.parts.tracker.report_command())
        return summary | {"run_id": tracked.run_id, "status": status, "summary": lines}
    except Interrupted as err:
        status = "KILLED"
        err.run_id = tracked.run_id
        raise
    finally:
        tracked.end(status)


def run_stages(cfg: DictConfig, tracked, should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Validate ``cfg`` and run its stages logging into ``tracked`` — any object with TrackedRun's
    logging methods, e.g. :class:`rgexp.tracking.MemoryRun` — with no MLflow run (tests, notebooks).
    Returns ``{"data_key", "metrics", "model"}`` as :func:`run` does."""
    v = validate(cfg)
    return _execute(v, tracked, OmegaConf.to_yaml(v.cfg, resolve=True), _StopFlag(should_stop))


def _context(v: Validated, tracked, config_yaml: str = "", stop=None) -> stages.Context:
    return stages.Context(v.cfg, v.settings, v.parts, v.device, v.model, tracked, stop, v.checkpoint, config_yaml)


def _execute(v: Validated, tracked: TrackedRun, config_yaml: str, stop: _StopFlag) -> dict:
    """Run the config's stages in order, each timed (``perf/<stage>_seconds``), storing what each
    gives; a stop is acted on between stages (and at the safe points inside them) — but not before
    the first checkpointing stage has ended, since a stop there would leave nothing to resume."""
    ctx = _context(v, tracked, config_yaml, stop)
    first = next((m for m in v.stages if getattr(m, "CHECKPOINTS", False)), None)
    resumable = first is None  # a stop now would leave a checkpoint to resume from (or need none)
    for module in v.stages:
        name = stages.stage_name(module)
        with ctx.clock(name):
            stages.store(module, ctx, module.run(ctx))
        resumable = resumable or module is first
        if resumable:
            stop.check(name)

    ctx.results["perf"] = ctx.clock.metrics()
    tracked.log_metrics(ctx.results["perf"])
    tracked.flush()
    return {"data_key": ctx.data_key, "metrics": ctx.results, "model": ctx.model if ctx.trained is None else ctx.trained}
