"""Stage ``thermometers``: the neural thermometer of the data's lattice (and, with
``coarse_lattices``, one per coarse lattice size the RG steps and square stack layers reach), and
the Monte Carlo curves (energy, ⟨s s'⟩, ⟨|m|⟩ against T) the readings need. Runs before training:
the fixed-point readings during training use them."""

from __future__ import annotations

from typing import Any, Callable, TYPE_CHECKING

import numpy as np
import torch

from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve, ModelEnergyCurve
from rgexp.ising.data import IsingData
from rgexp.lazy import lazy_module
from rgexp.metric_names import metric
from rgexp.models import is_stack
from rgexp.seeding import keyed_stream, torch_generator
from rgexp.stages._types import CouplingTable, Shape, Thermometers
from rgexp.stages.monte_carlo import data_at_sizes

thermometer_figures = lazy_module("rgexp.analysis.thermometer_figures")  # drawn only when a figure is kept

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data",)
GIVES = ("thermometers",)

# A sampler with a coupling table (long range: the CouplingTable protocol) gets ModelEnergyCurve for "energy".
CURVES = {"energy": EnergyCurve, "nn_energy": EnergyCurve, "magnetization": MagnetizationCurve}
MIN_COARSE_L = 4  # a thermometer on 2×2 configurations has 16 states to tell 60 temperatures by


def applies(ctx: Context) -> bool:
    return ctx.parts.analysis.get("thermometer") is not None


def coarse_sizes(lattice_shape: tuple[int, ...], rg, model: torch.nn.Module) -> list[int]:
    """Linear sizes, other than the data's, of the square lattices that the RG steps (L / b^k) and
    the square stacked-RBM layers (√n_hidden) produce, largest first; [] for a 1D chain."""
    if len(lattice_shape) != 2:
        return []
    L = lattice_shape[-1]
    sizes = {L // rg.b**k for k in range(1, rg.n_steps + 1)}
    for rbm in model.rbms if is_stack(model) else []:  # a single RBM's hidden layer is not read
        side = int(round(np.sqrt(rbm.n_hidden)))
        if side * side == rbm.n_hidden:
            sizes.add(side)
    return sorted((s for s in sizes if MIN_COARSE_L <= s < L), reverse=True)


def run(ctx: Context) -> Thermometers:
    """Trained on the data (and new data of the coarse sizes), or all on new data at the reader's
    ``temperatures``; the curves: ``{kind: {shape: curve}}``, kind energy (the sampler's own
    energy per site: with couplings, as long range has, a ModelEnergyCurve with the coupling table
    of that lattice's own L; else ⟨s s'⟩(T)), nn_energy or magnetization."""
    reader, data, sampler = ctx.parts.analysis["thermometer"], ctx.data, ctx.parts.sampler
    table = sampler.coupling_table if isinstance(sampler, CouplingTable) else None  # L -> couplings on L^d sites
    coarse = coarse_sizes(data.lattice_shape, ctx.parts.rg, ctx.model) if reader.coarse_lattices else []
    if reader.temperatures is not None:
        fresh = data_at_sizes(ctx, [None, *coarse], reader.temperatures, reader.n_samples)
        datasets = {(fresh[None].lattice_shape if L is None else (L, L)): d for L, d in fresh.items()}
    else:
        datasets = {data.lattice_shape: data}
        if coarse:
            datasets |= {(L, L): d for L, d in data_at_sizes(ctx, coarse).items()}

    def curve(kind: str, d):
        if kind == "energy" and table is not None:
            return ModelEnergyCurve.from_spins(d.temperatures, d.blocks, table(d.lattice_shape[0]))
        return CURVES[kind].from_spins(d.temperatures, d.blocks)

    curves = {kind: {shape: curve(kind, d) for shape, d in datasets.items()} for kind in curves_needed(ctx.parts.analysis)}
    trained = train_thermometers(reader, datasets, ctx.stream("analysis", "thermometer"), ctx.device, ctx.tracked)
    if trained:
        ctx.results["thermometer"] = next(iter(trained.values())).metrics()
        ctx.results["thermometers"] = {f"L{shape[-1]}": t.metrics() for shape, t in trained.items()}
    return Thermometers(trained, curves, reader)


def curves_needed(analysis: dict) -> set[str]:
    """Which Monte Carlo curves the readings, binnings and the fixed point need: only those, since a
    curve reads every thermometer data set once (GBs at paper scale)."""
    reader, binned = analysis.get("thermometer"), analysis.get("binned")
    needed = {reader.reading} & set(CURVES) if reader is not None else set()
    needed |= {"energy", "magnetization"} if analysis.get("fixed_point") is not None else set()
    return needed | ({"energy"} if binned is not None and "energy" in binned.by else set())


def train_thermometers(reader, datasets: dict[Shape, IsingData], seed: np.random.SeedSequence, device: torch.device,
                       tracked) -> dict[Shape, Any]:
    """One thermometer per lattice shape in ``datasets`` (the data's first, then the coarse ones).

    The data's thermometer logs ``thermometer/*`` per epoch and ``thermometer/final/*``; a coarse
    lattice's logs only its final metrics, ``thermometer/L<L>/final/*``. Each trains on its own
    stream of ``seed``, keyed by its lattice. Returns ``{}`` when the grid has a single temperature.
    """
    first = next(iter(datasets.values()))
    if len(first.temperatures) < 2:
        return {}
    results = {}
    for i, (shape, data) in enumerate(datasets.items()):
        log = _curve_logger(tracked) if i == 0 else None  # curves of the data's own only
        ss = keyed_stream(seed, "lattice", *map(int, shape))  # by its lattice, not its place in the list
        result = reader.fit(data, torch_generator(ss, device), device=device, log=log)
        tracked.log_metrics(result.metrics(path=("final",), L=None if i == 0 else shape[-1]))
        name = "thermometer_confusion" if i == 0 else f"thermometer_confusion_L{shape[-1]}"
        tracked.log_figure(lambda: thermometer_figures.plot_confusion(result), f"figures/{name}.png")
        results[shape] = result
    return results


def _curve_logger(tracked) -> Callable[[int, dict[str, float]], None]:
    def log(step: int, metrics: dict[str, float]) -> None:
        tracked.log_metrics({metric("thermometer", k): v for k, v in metrics.items()}, step=step)

    return log
