"""The pipeline's measurement stages: observables and thermometer readings of every set of
configurations, the thermometer itself, and the visible–hidden correlators.

Called only by the stage modules of :mod:`rgexp.stages`; logs through the open run (or any object
with its logging methods).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from rgexp.analysis import (
    checkerboard_pattern,
    correlator_of_correlators,
    rbm_correlator,
    receptive_field_size,
    rg_correlator,
    stacked_correlator,
    white_noise_pattern,
)
from rgexp.analysis.binned import PREFIXES, BinPool, energy_temperatures, nearest_class
from rgexp.analysis.binned_figures import (fig2_delta_sigma_m, fig4_magnetization_fit, fig_binned_deltas,
                                           fig_occupancy)
from rgexp.analysis.figures import delta_curves
from rgexp.analysis.receptive_plots import plot_correlator_maps, plot_G
from rgexp.analysis.receptive_size import arrange_on_grid
from rgexp.analysis.thermometer_figures import plot_confusion, plot_temperature_histograms
from rgexp.ising.data import IsingData
from rgexp.models import is_stack
from rgexp.metric_names import format_temperature, metric, with_companions
from rgexp.seeding import child_stream, keyed_stream, numpy_generator, torch_generator
from rgexp.tracking import TrackedRun

__all__ = ["Measurer", "train_thermometer_stage", "receptive_stage", "layer_orders"]


class Measurer:
    """Measure configs[k] (k = flow length, RG step or layer) and log ``stage/obs/T`` against k.

    ``thermometers`` maps a lattice shape to the thermometer trained on Monte Carlo data of that
    lattice: configurations of a shape that has one (the data, coarse RG steps, square stack layers)
    get a temperature reading (``stage/temperature/T``: the mean argmax temperature, with its
    error); the readings are kept for the temperature-histogram figures.
    """

    def __init__(self, analysis: dict, tracked: TrackedRun, thermometers: dict | None = None,
                 read_seed: np.random.SeedSequence | None = None, scaling_temperatures: list[float] | None = None,
                 scaling_seed: np.random.SeedSequence | None = None, curves: dict | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.measurements = analysis["measurements"]
        self.reader = analysis.get("thermometer")
        self.scaling = analysis.get("scaling")
        self.tracked, self.thermometers, self.device = tracked, thermometers or {}, device
        # every reading and fit draws from its own (stage, T, step) stream: nothing measured depends
        # on what else was measured, or in which order
        self.read_seed = read_seed if read_seed is not None else np.random.SeedSequence(0)
        self.scaling_seed = scaling_seed if scaling_seed is not None else np.random.SeedSequence(1)
        self.scaling_temperatures = list(scaling_temperatures or [])
        self.curves = curves or {}  # "energy" | "magnetization" -> lattice shape -> Monte Carlo curve
        self.readings: dict[str, dict[float, list]] = {}
        self.deltas: dict[str, dict[str, list]] = {}
        self.binned = analysis.get("binned")
        self.pools: dict[str, BinPool] = {}  # by -> the flow's pooled configurations per bin

    def __call__(self, stage: str, temperature: float, configs: list[np.ndarray]) -> dict:
        curves: dict[str, list] = {}
        for step, x in enumerate(configs):
            estimates = dict(self.measurements(x))
            generator = torch_generator(keyed_stream(self.read_seed, stage, temperature, step), self.device)
            reading = self._read(x, generator)
            if reading is not None:
                estimates["temperature"] = self.reader.temperature(
                    reading, x, self.curves.get(self.reader.reading, {}).get(tuple(x.shape[1:])), generator)
                self.readings.setdefault(stage, {}).setdefault(temperature, []).append(reading)
            if stage == "flow" and self.binned is not None:
                self._pool(step, x, reading)
            for name, est in estimates.items():
                self.tracked.log_metrics(with_companions(metric(stage, name, T=temperature), est.value, err=est.error),
                                         step=step)
                curves.setdefault(name, []).append((est.value, est.error))
            if self.scaling is not None and temperature in self.scaling_temperatures:
                extra = temperature if temperature != self.scaling_temperatures[0] else None
                rng = numpy_generator(keyed_stream(self.scaling_seed, stage, temperature, step))
                self._fit_deltas(stage, extra, step, x, rng)
        return curves

    def _pool(self, step: int, x: np.ndarray, reading) -> None:
        """Add flow length ``step``'s configurations x to each binning's pool (analysis.binned)."""
        shape = tuple(x.shape[1:])
        thermometer = self.thermometers.get(shape)
        if thermometer is None:  # bins are the thermometer's classes on the data's lattice
            return
        grid = thermometer.temperatures
        for by in self.binned.by:
            if by == "network":
                classes = reading.predicted
            else:
                classes = nearest_class(energy_temperatures(x, self.curves["energy"][shape]), grid)
            self.pools.setdefault(by, self.binned.new_pool(grid)).add(step, x, classes)

    def log_binned(self, seed) -> dict[str, dict]:
        """Fit and log the pooled flow bins (``flow_binned/…``, ``flow_binned_energy/…``) and their
        figures; binning ``by`` draws its bootstrap from child ``list(PREFIXES).index(by)`` of seed."""
        out = {}
        for by, pool in self.pools.items():
            steps = self.binned.results(pool, child_stream(seed, list(PREFIXES).index(by)))
            for k, step in steps.items():
                self.tracked.log_metrics(self.binned.metrics(by, pool.grid, step), step=k)
            name, last = PREFIXES[by], max(steps)
            T_c = self.binned.T_c
            figures = {"fig2_delta_sigma_m": fig2_delta_sigma_m(steps, by),
                       "fig4_m_fit": fig4_magnetization_fit(pool.grid, steps[last], last, by, T_c),
                       "fig5a_delta_sigma": fig_binned_deltas(pool.grid, steps, "sigma", by, 0.125),
                       "fig6a_delta_epsilon": fig_binned_deltas(pool.grid, steps, "epsilon", by, 1.0),
                       "occupancy": fig_occupancy(pool.grid, steps, by, T_c)}
            for label, fig in figures.items():
                self.tracked.log_figure(fig, f"figures/{name}_{label}.png")
            out[by] = steps
        return out

    def _fit_deltas(self, stage: str, extra: float | None, step: int, x: np.ndarray,
                    rng: np.random.Generator) -> None:
        """Δ_op of configurations x (a flow length or RG step) at a scaling temperature: the main one
        logs ``stage/delta_op``, an extra one (``extra``: its T) ``stage/delta_op/T<T>``."""
        key = stage if extra is None else f"{stage}@{format_temperature(extra)}"  # for the figures
        for op in self.scaling.operators:
            fit = self.scaling.fit(x, op, rng)
            if fit is None:
                continue
            self.tracked.log_metrics(with_companions(metric(stage, f"delta_{op}", T=extra), fit.value,
                                                     ci_low=fit.ci_low, ci_high=fit.ci_high), step=step)
            self.deltas.setdefault(key, {}).setdefault(op, []).append((step, fit.value, fit.ci_low, fit.ci_high))

    def fit_magnetization(self, stage: str, curves: dict[float, dict]) -> None:
        """Δ_σ from ⟨|m|⟩(T) below T_c at every step of ``stage`` (``stage/delta_sigma_from_m``)."""
        if (self.scaling is None or not self.scaling.magnetization or not curves
                or "abs_magnetization" not in next(iter(curves.values()))):
            return
        temps = np.array(sorted(curves))
        m = np.array([curves[t]["abs_magnetization"] for t in temps])  # (n_T, n_steps + 1, 2)
        for step in range(m.shape[1]):
            fit = self.scaling.fit_magnetization(temps, m[:, step, 0], m[:, step, 1])
            if fit is None:
                continue
            self.tracked.log_metrics(with_companions(metric(stage, "delta_sigma_from_m"), fit.value, err=fit.error,
                                                     ci_low=fit.ci_low, ci_high=fit.ci_high), step=step)
            self.deltas.setdefault(stage, {}).setdefault("sigma from ⟨|m|⟩", []).append(
                (step, fit.value, fit.ci_low, fit.ci_high))

    def log_deltas(self) -> dict[str, dict[str, list]]:
        """The Δ-against-step figures; returns the fitted points."""
        xlabels = {"flow": "flow length", "rg": "RG step", "stack": "stacked-RBM layer"}
        exact = self.scaling.exact if self.scaling is not None else {}
        exact = exact | ({"sigma from ⟨|m|⟩": exact["sigma"]} if "sigma" in exact else {})
        for stage, points in self.deltas.items():
            base, _, suffix = stage.partition("@")
            t = float(suffix[1:]) if suffix else self.scaling_temperatures[0]
            fig = delta_curves(points, exact, xlabels.get(base, "step"), f"{base}: correlators at T = {t:.4f}")
            self.tracked.log_figure(fig, f"figures/delta_{base}{'_' + suffix if suffix else ''}.png")
        return self.deltas

    def _read(self, x: np.ndarray, generator: torch.Generator):
        """The reading of the thermometer trained on x's lattice, if there is one."""
        thermometer = self.thermometers.get(tuple(x.shape[1:]))
        if thermometer is None:
            return None
        return self.reader.measure(thermometer, x, generator=generator)

    def log_histograms(self, stage: str, max_temperatures: int = 6) -> None:
        """One heat map of ``stage``'s readings against step per initial temperature (at most a few)."""
        for per_t in [self.readings[stage]] if stage in self.readings else []:
            temps = sorted(per_t)
            chosen = [temps[i] for i in np.unique(np.linspace(0, len(temps) - 1, max_temperatures).astype(int))]
            for t in chosen:
                if len(per_t[t]) < 2:  # a single reading (e.g. RG step 0 only) is no flow
                    continue
                readings = {f"{stage} {k}": r for k, r in enumerate(per_t[t])}
                fig = plot_temperature_histograms(readings, T_c=None, kind="heatmap")
                self.tracked.log_figure(fig, f"figures/temperature_{stage}_{format_temperature(t)}.png")


def train_thermometer_stage(analysis: dict, datasets: dict[tuple[int, ...], IsingData],
                            seed: np.random.SeedSequence, device: torch.device,
                            tracked: TrackedRun) -> dict[tuple[int, ...], Any]:
    """One thermometer per lattice shape in ``datasets`` (the data's first, then the coarse ones).

    The data's thermometer logs ``thermometer/*`` per epoch and ``thermometer/final/*``; a coarse
    lattice's logs only its final metrics, ``thermometer/L<L>/final/*``. Each trains on its own
    stream of ``seed``. Returns
    ``{}`` when the thermometer is switched off or the grid has a single temperature.
    """
    reader = analysis.get("thermometer")
    first = next(iter(datasets.values()))
    if reader is None or len(first.temperatures) < 2:
        return {}
    results = {}
    for i, (shape, data) in enumerate(datasets.items()):
        base = metric("thermometer") if i == 0 else metric("thermometer", L=shape[-1])
        log = _curve_logger(tracked, "thermometer") if i == 0 else None  # curves of the data's own only
        ss = keyed_stream(seed, "lattice", *map(int, shape))  # by its lattice, not its place in the list
        result = reader.fit(data, torch_generator(ss, device), device=device, log=log)
        tracked.log_metrics(result.metrics(prefix=metric(base, "final") + "/"))
        name = "thermometer_confusion" if i == 0 else f"thermometer_confusion_L{shape[-1]}"
        tracked.log_figure(plot_confusion(result), f"figures/{name}.png")
        results[shape] = result
    return results


def _curve_logger(tracked: TrackedRun, stage: str) -> Callable[[int, dict[str, float]], None]:
    def log(step: int, metrics: dict[str, float]) -> None:
        tracked.log_metrics({metric(stage, k): v for k, v in metrics.items()}, step=step)

    return log


def layer_orders(analysis: dict, model, data: IsingData) -> list[np.ndarray | None] | None:
    """For ``receptive.arrange_layers``: per stack layer (index 0 = the input), the unit order that
    lays a square layer out by its receptive fields (None: keep index order); None when off."""
    spec = analysis.get("receptive")
    if spec is None or not spec.arrange_layers or not is_stack(model) or len(data.lattice_shape) != 2:
        return None
    spins = data.at(spec.pick(data.temperatures), spec.n_samples)  # int8: converted per chunk
    orders: list[np.ndarray | None] = [None]
    for layer, rbm in enumerate(model.rbms, start=1):
        side = int(round(np.sqrt(rbm.n_hidden)))
        if side * side != rbm.n_hidden:
            orders.append(None)
            continue
        size = receptive_field_size(stacked_correlator(model, spins, layer), data.lattice_shape)
        orders.append(arrange_on_grid(size.centre, data.lattice_shape))
    return orders


def receptive_stage(analysis: dict, model, data: IsingData, rg, gen: np.random.Generator,
                    tracked: TrackedRun) -> dict[str, Any]:
    """C_ia maps, receptive-field sizes and G(d) for every model layer and one block-spin step, at
    one temperature; the G(d) of the configured null patterns alongside."""
    spec = analysis.get("receptive")
    if spec is None or len(data.lattice_shape) != 2:
        return {}
    i = spec.pick(data.temperatures)
    spins = data.at(i, spec.n_samples)  # int8: the correlators convert per chunk
    tracked.log_metrics({metric("receptive", "n_configurations"): len(spins)})  # n_samples, or all there are
    torch_gen = torch.Generator(device=model.device)
    torch_gen.manual_seed(int(gen.integers(2**62)))
    correlators = {}
    if is_stack(model):
        for layer in range(1, len(model.rbms) + 1):
            correlators[f"stack layer {layer}"] = stacked_correlator(model, spins, layer, sample=spec.sample,
                                                                    generator=torch_gen)
    else:
        correlators["RBM"] = rbm_correlator(model, spins, sample=spec.sample, generator=torch_gen)
    correlators[f"RG ({rg.rule}, b={rg.b})"] = rg_correlator(spins, rg.b, rg.rule, 1, gen)
    curves, sizes = {}, {}
    for label, c in correlators.items():
        slug = _slug(label)
        tracked.log_figure(plot_correlator_maps(c, data.lattice_shape, spec.n_units), f"figures/C_ia_{slug}.png")
        curves[label] = correlator_of_correlators(c, data.lattice_shape)
        tracked.log_arrays(f"arrays/G_{slug}.npz", d=curves[label].d, G=curves[label].G, dG=curves[label].dG)
        size = receptive_field_size(c, data.lattice_shape)
        rms, n_resolved = size.rms_radius, int(size.resolved.sum())
        sizes[label] = {"radius": rms.value, "radius_err": rms.error, "n_resolved": n_resolved}
        tracked.log_metrics(with_companions(metric("receptive", slug, "radius"), float(rms.value), err=float(rms.error))
                            | {metric("receptive", slug, "n_resolved"): float(n_resolved)})
    curves |= _null_curves(spec, data.lattice_shape, gen)
    tracked.log_figure(plot_G(curves), "figures/G_of_d.png")
    tracked.set_tags({"receptive_temperature": f"{data.temperatures[i]:.6g}"})
    return {"temperature": float(data.temperatures[i]), "G": {k: v.G.tolist() for k, v in curves.items()},
            "sizes": sizes}


def _slug(label: str) -> str:
    return label.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "").replace("=", "")


def _null_curves(spec, lattice_shape: tuple[int, ...], gen: np.random.Generator) -> dict[str, Any]:
    """G(d) of the null patterns (as many maps as ``spec.n_units``), keyed by a label."""
    out = {}
    for name in spec.nulls:
        if name == "white_noise":
            maps = white_noise_pattern(spec.n_units, lattice_shape, gen)
        else:
            block = int(name[len("checkerboard"):])
            if 2 * block > min(lattice_shape):
                continue
            maps = checkerboard_pattern(spec.n_units, lattice_shape, block, gen=gen)
        out[f"null: {name}"] = correlator_of_correlators(maps)
    return out
