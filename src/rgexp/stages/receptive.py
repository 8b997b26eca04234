"""Stage ``receptive`` (2D, ``analysis.receptive``): C_ia maps, receptive-field sizes and G(d) for
every model layer and one block-spin step, at one temperature, with the null patterns' G(d).

Its randomness comes from separate keyed streams, (analysis, receptive, …): ``correlators`` for
the sampled hidden units, ``rg`` for the block-spin step's tie-breaks and ``null``, <name> for
each null pattern — switching the nulls or the sampling on or off changes nothing else."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np

from rgexp.analysis import (
    checkerboard_pattern,
    correlator_of_correlators,
    rbm_correlator,
    receptive_field_size,
    rg_correlator,
    stacked_correlator,
    white_noise_pattern,
)
from rgexp.errors import ConfigError
from rgexp.lazy import lazy_module
from rgexp.metric_names import metric, with_companions
from rgexp.models import is_stack
from rgexp.seeding import numpy_generator, torch_generator
from rgexp.stages._types import Shape

plots = lazy_module("rgexp.analysis.receptive_plots")  # drawn only when a figure is kept

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS = ("data", "trained")
GIVES = ("receptive",)


def applies(ctx: Context) -> bool:
    return ctx.parts.analysis.get("receptive") is not None and ctx.ndim == 2  # heat maps are 2D


def check(ctx: Context) -> None:
    rg, L = ctx.parts.rg, ctx.parts.sampler.lattice_shape[-1]
    if L % rg.b:
        raise ConfigError(f"analysis.receptive: its RG step needs L divisible by rg.b = {rg.b}, got L = {L}; "
                          "change sampler.L or rg.b, or set analysis.receptive=null")


def run(ctx: Context) -> dict[str, Any]:
    """The temperature, G(d) of every layer, RG step and null pattern, and the layers' sizes."""
    spec, model, data, rg = ctx.parts.analysis["receptive"], ctx.trained, ctx.data, ctx.parts.rg
    i = spec.pick(data.temperatures)
    spins = data.at(i, spec.n_samples)  # int8: the correlators convert per chunk
    ctx.tracked.log_metrics({metric("receptive", "n_configurations"): len(spins)})  # n_samples, or all there are
    torch_gen = torch_generator(ctx.stream("analysis", "receptive", "correlators"), model.device)
    correlators = {}
    if is_stack(model):
        for layer in range(1, len(model.rbms) + 1):
            correlators[f"stack layer {layer}"] = stacked_correlator(model, spins, layer, sample=spec.sample,
                                                                    generator=torch_gen)
    else:
        correlators["RBM"] = rbm_correlator(model, spins, sample=spec.sample, generator=torch_gen)
    rg_gen = numpy_generator(ctx.stream("analysis", "receptive", "rg"))
    correlators[f"RG ({rg.rule}, b={rg.b})"] = rg_correlator(spins, rg.b, rg.rule, 1, rg_gen)
    curves, sizes = {}, {}
    for label, c in correlators.items():
        curves[label], sizes[label] = _measure(ctx.tracked, spec, label, c, data.lattice_shape)
    curves |= _null_curves(ctx, spec, data.lattice_shape)
    ctx.tracked.log_figure(lambda: plots.plot_G(curves), "figures/G_of_d.png")
    ctx.tracked.set_tags({"receptive_temperature": f"{data.temperatures[i]:.6g}"})
    result = {"temperature": float(data.temperatures[i]), "G": {k: v.G.tolist() for k, v in curves.items()},
              "sizes": sizes}
    ctx.results["receptive"] = result
    return result


def _measure(tracked, spec, label: str, c: np.ndarray, shape: Shape) -> tuple[Any, dict[str, float]]:
    """One layer's C_ia maps, G(d) and receptive-field radius, logged; (G(d), its size)."""
    slug = _slug(label)
    tracked.log_figure(lambda: plots.plot_correlator_maps(c, shape, spec.n_units), f"figures/C_ia_{slug}.png")
    curve = correlator_of_correlators(c, shape)
    tracked.log_arrays(f"arrays/G_{slug}.npz", d=curve.d, G=curve.G, dG=curve.dG)
    size = receptive_field_size(c, shape)
    rms, n_resolved = size.rms_radius, int(size.resolved.sum())
    tracked.log_metrics(with_companions(metric("receptive", slug, "radius"), float(rms.value), err=float(rms.error))
                        | {metric("receptive", slug, "n_resolved"): float(n_resolved)})
    return curve, {"radius": rms.value, "radius_err": rms.error, "n_resolved": n_resolved}


def _slug(label: str) -> str:
    return label.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "").replace("=", "")


def _null_curves(ctx: Context, spec, lattice_shape: Shape) -> dict[str, Any]:
    """G(d) of the null patterns (as many maps as ``spec.n_units``), keyed by a label; each drawn
    from its own (analysis, receptive, null, name) stream."""
    out = {}
    for name in spec.nulls:
        gen = numpy_generator(ctx.stream("analysis", "receptive", "null", name))
        if name == "white_noise":
            maps = white_noise_pattern(spec.n_units, lattice_shape, gen)
        else:
            block = int(name[len("checkerboard"):])
            if 2 * block > min(lattice_shape):
                continue
            maps = checkerboard_pattern(spec.n_units, lattice_shape, block, gen=gen)
        out[f"null: {name}"] = correlator_of_correlators(maps)
    return out
