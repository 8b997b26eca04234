"""The pipeline's stages after Monte Carlo: train the model, flow it, block-spin, measure.

Called only by :mod:`rgexp.pipeline`; each stage takes its seed stream and the open run.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

import rgexp
from rgexp.analysis.figures import curves_by_temperature
from rgexp.config import instantiate_node
from rgexp.errors import ConfigError, Interrupted
from rgexp.flows.rbm_flow import START_TEMPERATURES
from rgexp.ising.data import IsingData
from rgexp.perf import StageClock
from rgexp.seeding import numpy_generator, torch_generator
from rgexp.tracking import TrackedRun

__all__ = ["build_model", "train_model", "flow_and_rg", "coarse_sizes", "bottom_rbm"]


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


def train_model(cfg: DictConfig, settings, model: torch.nn.Module, data: IsingData, streams,
                device: torch.device, tracked: TrackedRun, config_yaml: str, checkpoint: dict | None,
                stop, fixed_point: Callable | None = None) -> torch.nn.Module:
    """Train ``model`` on the ``train`` stream, checkpointing into the run (on the data at
    ``settings.train_temperatures`` only, when given). ``fixed_point(trainer)`` (optional, from
    :mod:`rgexp.fixed_point_stage`) returns the tracker that measures the flow's fixed point at
    scheduled updates; its points travel in the checkpoint."""
    x = _training_data(data, settings.train_temperatures)
    factory = instantiate_node(cfg.model.train, "model.train")
    try:
        trainer = factory(model=model, data=model.from_spins(x),
                          generator=torch_generator(streams["train"], device))
    except ValueError as err:  # checks that need the data, e.g. batch_size <= n_train
        raise ConfigError(f"model.train.{err}".splitlines()[0]) from None
    if checkpoint is not None:
        trainer.load_state_dict(checkpoint["trainer"])
    tracker = fixed_point(trainer) if fixed_point is not None else None
    if tracker is not None and checkpoint is not None:
        tracker.load(checkpoint.get("fixed_point"))

    def log(step: int, metrics: dict[str, float]) -> None:
        tracked.log_metrics({f"train/{k}": v for k, v in metrics.items()}, step=step)

    clock = StageClock()  # where training's time goes besides the updates

    def save(state: dict) -> None:
        with clock("train_checkpoints"):
            tracked.flush()  # metrics and checkpoint advance together: a resume re-logs nothing twice
            extra = {"fixed_point": tracker.state()} if tracker is not None else {}
            tracked.save_checkpoint({"trainer": state, "config": config_yaml, "stage": "train",
                                     "rgexp_version": rgexp.__version__} | extra)

    if checkpoint is None:
        save(trainer.state_dict())  # from here on a stopped run has a checkpoint to resume from
    if stop():
        raise Interrupted("stopped after the Monte Carlo and thermometer stages")
    total = getattr(trainer, "total_updates", None)
    with tqdm(total=total, initial=getattr(trainer, "update", 0), desc="RBM training", unit="upd",
              disable=not settings.progress) as bar:
        def poll() -> bool:  # the trainer polls once per update: the bar's clock
            bar.update(1)
            if tracker is not None and tracker.due(trainer.update):
                with clock("train_fixed_point"):
                    tracker(trainer.update)  # before a checkpoint at this update, so it is saved with it
            return stop()

        clock.seconds = {"train_checkpoints": 0.0, "train_fixed_point": 0.0}  # the untrained checkpoint is not training's
        metrics_before = getattr(trainer, "metrics_seconds", 0.0)
        with clock("train_fit"):
            trainer.fit(log=log, on_checkpoint=save, checkpoint_every=settings.checkpoint_every,
                        should_stop=poll)
    clock.seconds["train_metrics"] = getattr(trainer, "metrics_seconds", 0.0) - metrics_before
    tracked.log_metrics({f"perf/{part}_seconds": s for part, s in clock.seconds.items()})
    tracked.flush()
    if tracker is not None and tracker.points:
        tracked.log_figure(tracker.figure(), "figures/fixed_point.png")
    from rgexp import models

    plot = getattr(models, "plot_filters", None)
    if plot is not None and len(data.lattice_shape) == 2:
        tracked.log_figure(plot(model, data.lattice_shape), "figures/filters.png")
    return model


MIN_COARSE_L = 4  # a thermometer on 2×2 configurations has 16 states to tell 60 temperatures by


def coarse_sizes(lattice_shape: tuple[int, ...], rg, model: torch.nn.Module) -> list[int]:
    """Linear sizes, other than the data's, of the square lattices that the RG steps (L / b^k) and
    the square stacked-RBM layers (√n_hidden) produce, largest first; [] for a 1D chain."""
    if len(lattice_shape) != 2:
        return []
    L = lattice_shape[-1]
    sizes = {L // rg.b**k for k in range(1, rg.n_steps + 1)}
    for rbm in getattr(model, "rbms", []):
        side = int(round(np.sqrt(rbm.n_hidden)))
        if side * side == rbm.n_hidden:
            sizes.add(side)
    return sorted((s for s in sizes if MIN_COARSE_L <= s < L), reverse=True)


def _training_data(data: IsingData, temperatures: list[float] | None) -> np.ndarray:
    """(n, n_visible) configurations: all of them, or those at the grid points closest to each T."""
    if temperatures is None:
        return data.flat()[0]
    idx = sorted({int(np.argmin(np.abs(data.temperatures - t))) for t in temperatures})
    return data.spins[idx].reshape(-1, data.n_visible)


def bottom_rbm(model: torch.nn.Module) -> torch.nn.Module:
    """The RBM that acts on lattice configurations (the first layer of a stack)."""
    return model.rbms[0] if hasattr(model, "rbms") else model


def flow_and_rg(parts, model, data: IsingData, streams, device: torch.device, tracked: TrackedRun,
                measure: Callable, progress: bool = False,
                stop: Callable[[], None] | None = None,
                layer_orders: list[np.ndarray | None] | None = None) -> dict[str, Any]:
    """Flow and block-spin the data at every temperature; ``measure(stage, T, configs)`` each step.

    ``stop()`` is called after each temperature: it raises to end the stage at that safe point.
    ``layer_orders[k]`` (from ``measure.layer_orders``) permutes stack layer k's units before it is
    laid out as a lattice."""
    rbm = bottom_rbm(model)
    gen_flow = torch_generator(streams["flow"], device)
    gen_rg = numpy_generator(streams["rg"])
    shape = data.lattice_shape
    flow_curves: dict[float, dict] = {}
    rg_curves: dict[float, dict] = {}
    stack_curves: dict[float, dict] = {}
    for i, t in enumerate(tqdm(data.temperatures, desc="flow and RG", unit="T", disable=not progress)):
        v0 = rbm.from_spins(data.spins[i].reshape(data.spins.shape[1], -1))
        flowed = parts.flow(rbm, v0, gen_flow)
        configs = [rbm.to_spins(f).detach().cpu().numpy().reshape(-1, *shape) for f in flowed]
        flow_curves[float(t)] = measure("flow", float(t), configs)
        rg_configs = parts.rg(data.spins[i], gen_rg, ndim=len(shape))
        rg_curves[float(t)] = measure("rg", float(t), rg_configs)
        if hasattr(model, "propagate_up"):
            layers = model.propagate_up(v0[: parts.flow.n_samples])
            orders = layer_orders or [None] * len(layers)
            stack_curves[float(t)] = measure("stack", float(t), [_as_lattice(model.to_spins(x), o)
                                                                 for x, o in zip(layers, orders)])
        if stop is not None:
            stop()
    for kind in parts.flow.extra_starts:
        v0 = rbm.from_spins(parts.flow.start(kind, rbm.n_visible, gen_flow))
        configs = [rbm.to_spins(f).detach().cpu().numpy().reshape(-1, *shape) for f in parts.flow(rbm, v0, gen_flow)]
        flow_curves[START_TEMPERATURES[kind]] = measure("flow", START_TEMPERATURES[kind], configs)
    _log_curves(tracked, "flow", flow_curves, "flow length")
    _log_curves(tracked, "rg", rg_curves, "RG step")
    _log_curves(tracked, "stack", stack_curves, "stacked-RBM layer")
    return {"flow": flow_curves, "rg": rg_curves, "stack": stack_curves}


def _as_lattice(x: torch.Tensor, order: np.ndarray | None = None) -> np.ndarray:
    """(n, m) layer activations, units permuted by ``order`` when given, as (n, √m, √m) when m is a
    square, else (n, m).

    Hidden units carry no geometry of their own; the square arrangement only gives the layer's
    nearest-neighbour correlation a meaning when the stack has learned local filters. Its ⟨|m|⟩
    does not depend on the arrangement.
    """
    arr = x.detach().cpu().numpy()
    if order is not None:
        arr = arr[:, order]
    side = int(round(np.sqrt(arr.shape[1])))
    return arr.reshape(-1, side, side) if side * side == arr.shape[1] else arr


def _log_curves(tracked: TrackedRun, stage: str, curves: dict[float, dict], xlabel: str) -> None:
    if not curves:
        return
    names = next(iter(curves.values())).keys()
    for name in names:
        per_t = {t: c[name] for t, c in curves.items()}
        fig = curves_by_temperature(per_t, xlabel, name, f"{stage}: {name}")
        tracked.log_figure(fig, f"figures/{stage}_{name}.png")
        arr = np.array([per_t[t] for t in sorted(per_t)])  # (n_T, n_steps + 1, 2)
        tracked.log_arrays(f"arrays/{stage}_{name}.npz", temperatures=np.array(sorted(per_t)),
                           value=arr[..., 0], error=arr[..., 1])
