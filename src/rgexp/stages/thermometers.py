"""Stage ``thermometers``: the neural thermometer of the data's lattice (and, with
``coarse_lattices``, one per coarse lattice size the RG steps and square stack layers reach), and
the Monte Carlo curves (energy, ⟨s s'⟩, ⟨|m|⟩ against T) the readings need. Runs before training:
the fixed-point readings during training use them."""

from __future__ import annotations

import numpy as np
import torch

from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve, ModelEnergyCurve
from rgexp.models import is_stack
from rgexp.stages.monte_carlo import data_at_sizes

NEEDS = ("data",)
GIVES = ("thermometers",)

# A sampler with a ``coupling_table`` (long range) gets ModelEnergyCurve for "energy" instead.
CURVES = {"energy": EnergyCurve, "nn_energy": EnergyCurve, "magnetization": MagnetizationCurve}
MIN_COARSE_L = 4  # a thermometer on 2×2 configurations has 16 states to tell 60 temperatures by


def applies(ctx) -> bool:
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


def run(ctx) -> None:
    """Trained on the data (and new data of the coarse sizes), or all on new data at the reader's
    ``temperatures``; ``ctx.curves``: ``{kind: {shape: curve}}``, kind energy (the sampler's own
    energy per site: with couplings, as long range has, a ModelEnergyCurve with the coupling table
    of that lattice's own L; else ⟨s s'⟩(T)), nn_energy or magnetization."""
    from rgexp.measure import train_thermometer_stage

    reader, data = ctx.parts.analysis["thermometer"], ctx.data
    table = getattr(ctx.parts.sampler, "coupling_table", None)  # L -> the model's couplings on L^d sites
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

    ctx.curves = {kind: {shape: curve(kind, d) for shape, d in datasets.items()} for kind in curves_needed(ctx.parts.analysis)}
    ctx.thermometers = train_thermometer_stage(ctx.parts.analysis, datasets, ctx.stream("analysis", "thermometer"),
                                               ctx.device, ctx.tracked)
    if ctx.thermometers:
        ctx.results["thermometer"] = next(iter(ctx.thermometers.values())).metrics()
        ctx.results["thermometers"] = {f"L{shape[-1]}": t.metrics() for shape, t in ctx.thermometers.items()}


def curves_needed(analysis: dict) -> set[str]:
    """Which Monte Carlo curves the readings, binnings and the fixed point need: only those, since a
    curve reads every thermometer data set once (GBs at paper scale)."""
    reader, binned = analysis.get("thermometer"), analysis.get("binned")
    needed = {reader.reading} & set(CURVES) if reader is not None else set()
    needed |= {"energy", "magnetization"} if analysis.get("fixed_point") is not None else set()
    return needed | ({"energy"} if binned is not None and "energy" in binned.by else set())
