"""Stage ``training``: train the model on the data (checkpointed, resumable bit for bit), with the
flow's fixed point measured at scheduled updates when ``analysis.fixed_point`` is set."""

from __future__ import annotations

from typing import Callable, TYPE_CHECKING

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

import rgexp
from rgexp.config import instantiate_node
from rgexp.errors import ConfigError, Interrupted
from rgexp.constants import T_C
from rgexp.ising.data import IsingData
from rgexp.metric_names import metric
from rgexp.perf import StageClock
from rgexp.seeding import child_stream, torch_generator
from rgexp.stages._fixed_point import FixedPointTracker
from rgexp.stages._types import Trainer

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data",)
GIVES = ("trained",)
CHECKPOINTS = True  # a stop before its first checkpoint would leave nothing to resume: the run goes on to it

NETWORK_READING_STREAM = 2**31  # child of fixed_point for the network's inputs; updates are children < 2**31


def check(ctx: Context) -> None:
    temps = ctx.settings.train_temperatures
    if temps is not None and (not temps or any(not t > 0 for t in temps)):
        raise ConfigError(f"train_temperatures must be a non-empty list of T > 0 or null, got {temps}")
    if ctx.parts.analysis.get("fixed_point") is None:
        return
    if ctx.parts.analysis.get("thermometer") is None:
        raise ConfigError("analysis.fixed_point needs analysis.thermometer (its readings use the thermometer's "
                          "data and network); set analysis.fixed_point=null or keep the thermometer")
    if "thermometers" not in ctx.given:
        raise ConfigError("analysis.fixed_point reads the thermometer during training: list the thermometers "
                          "stage before training in stages, or set analysis.fixed_point=null")


def bottom_rbm(model: torch.nn.Module) -> torch.nn.Module:
    """The RBM that acts on lattice configurations (the first layer of a stack)."""
    return model.rbms[0]


def build_model(cfg: DictConfig, lattice_shape: tuple[int, ...], streams, device: torch.device) -> torch.nn.Module:
    """The model on the ``init`` stream, with its training hyperparameters checked (no work yet)."""
    from rgexp.models.trainer import HYPERPARAMETERS, validate_hyperparameters

    model = instantiate_node(cfg.model.net, "model.net", n_visible=int(np.prod(lattice_shape)),
                             generator=torch_generator(streams["init"]))
    hp = {k: v for k, v in OmegaConf.to_container(cfg.model.train, resolve=True).items() if k in HYPERPARAMETERS}
    try:
        validate_hyperparameters(**hp)
    except ValueError as err:
        raise ConfigError(f"model.train.{err}") from None
    return model.to(device)


def run(ctx: Context) -> torch.nn.Module:
    """The trained model (``ctx.model``, trained in place)."""
    return train_model(ctx, _fixed_point_tracker(ctx))


def train_model(ctx: Context, fixed_point: Callable | None = None) -> torch.nn.Module:
    """Train ``ctx.model`` on the ``train`` stream, checkpointing into the run (on the data at
    ``settings.train_temperatures`` only, when given). ``fixed_point(trainer)`` returns the tracker
    that measures the flow's fixed point at scheduled updates; its points travel in the checkpoint."""
    settings, model, data, tracked, checkpoint = ctx.settings, ctx.model, ctx.data, ctx.tracked, ctx.checkpoint
    x = model.from_spins(_training_data(data, settings.train_temperatures), compact=True)  # int8: ¼ of float32
    factory = instantiate_node(ctx.cfg.model.train, "model.train")
    try:
        trainer: Trainer = factory(model=model, data=x,
                          generator=torch_generator(ctx.streams["train"], ctx.device))
    except ValueError as err:  # checks that need the data, e.g. batch_size <= n_train
        raise ConfigError(f"model.train.{err}".splitlines()[0]) from None
    if checkpoint is not None:
        trainer.load_state_dict(checkpoint["trainer"])
    tracker = fixed_point(trainer) if fixed_point is not None else None
    if tracker is not None and checkpoint is not None:
        tracker.load(checkpoint.get("fixed_point"))

    def log(step: int, metrics: dict[str, float], path: tuple[str, ...] = ()) -> None:
        tracked.log_metrics({metric("train", *path, k): v for k, v in metrics.items()}, step=step)

    clock = StageClock()  # where training's time goes besides the updates

    def save(state: dict) -> None:
        with clock("train_checkpoints"):
            tracked.flush()  # metrics and checkpoint advance together: a resume re-logs nothing twice
            extra = {"fixed_point": tracker.state()} if tracker is not None else {}
            tracked.save_checkpoint({"trainer": state, "config": ctx.config_yaml, "stage": "train",
                                     "rgexp_version": rgexp.__version__} | extra)

    if checkpoint is None:
        save(trainer.state_dict())  # from here on a stopped run has a checkpoint to resume from
    if ctx.stop():
        raise Interrupted("stopped after the Monte Carlo and thermometer stages")
    with tqdm(total=trainer.total_updates, initial=trainer.update,
              desc="RBM training", unit="upd", disable=not settings.progress) as bar:
        def poll() -> bool:  # the trainer polls once per update: the bar's clock
            bar.update(1)
            if tracker is not None and tracker.due(trainer.update):
                with clock("train_fixed_point"):
                    tracker(trainer.update)  # before a checkpoint at this update, so it is saved with it
            return ctx.stop()

        clock.seconds = {"train_checkpoints": 0.0, "train_fixed_point": 0.0}  # the untrained checkpoint is not training's
        metrics_before = trainer.metrics_seconds
        with clock("train_fit"):
            trainer.fit(log=log, on_checkpoint=save, checkpoint_every=settings.checkpoint_every, should_stop=poll)
    clock.seconds["train_metrics"] = trainer.metrics_seconds - metrics_before
    tracked.log_metrics(clock.metrics(totals=False))
    tracked.flush()
    if tracker is not None and tracker.points:
        tracked.log_figure(tracker.figure, "figures/fixed_point.png")
    from rgexp import models

    if ctx.ndim == 2:
        tracked.log_figure(lambda: models.plot_filters(model, data.lattice_shape), "figures/filters.png")
    return model


def _training_data(data: IsingData, temperatures: list[float] | None) -> np.ndarray:
    """(n, n_visible) configurations: all of them, or those at the grid points closest to each T."""
    if temperatures is None:
        return data.flat()[0]
    idx = sorted({int(np.argmin(np.abs(data.temperatures - t))) for t in temperatures})
    return data.rows(idx)


def _fixed_point_tracker(ctx: Context) -> Callable | None:
    """``trainer -> FixedPointTracker`` for analysis.fixed_point (None when it is off)."""
    spec = ctx.parts.analysis.get("fixed_point")
    if spec is None:
        return None
    shape, thermometers, seed = ctx.data.lattice_shape, ctx.thermometers, ctx.streams["fixed_point"]
    readers = {kind: thermometers.curve(kind, shape).read for kind in ("energy", "magnetization")}
    if shape in thermometers.by_shape:  # a fresh generator per reading: ±1 flows draw nothing, and nothing is shared
        readers["network"] = lambda x: thermometers.reader.measure(thermometers.by_shape[shape], x, generator=torch_generator(
            child_stream(seed, NETWORK_READING_STREAM), ctx.device)).mean_temperature
    T_c = ctx.parts.analysis["scaling"].T_c if ctx.parts.analysis.get("scaling") is not None else T_C

    def make(trainer) -> FixedPointTracker:
        return FixedPointTracker(spec, bottom_rbm(trainer.model), ctx.data, readers, seed, ctx.tracked,
                                 trainer.total_updates, T_c)

    return make
