"""The pipeline's measurement stages: observables and thermometer readings of every set of
configurations, the thermometer itself, and the visible–hidden correlators.

Called only by :mod:`rgexp.pipeline` and :mod:`rgexp.stages`; logs through the open run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rgexp.analysis import (
    correlator_of_correlators,
    rbm_correlator,
    rg_correlator,
    stacked_correlator,
)
from rgexp.analysis.figures import delta_curves
from rgexp.analysis.receptive_plots import plot_correlator_maps, plot_G
from rgexp.analysis.thermometer_figures import plot_confusion, plot_temperature_histograms
from rgexp.ising.data import IsingData
from rgexp.tracking import TrackedRun

__all__ = ["Measurer", "train_thermometer_stage", "receptive_stage"]


class Measurer:
    """Measure configs[k] (k = flow length, RG step or layer) and log ``stage/obs/T`` against k.

    With a trained thermometer, configurations on its lattice also get a temperature reading
    (``stage/temperature/T``: the mean argmax temperature, with its error); the readings are kept
    for the temperature-histogram figures.
    """

    def __init__(self, analysis: dict, tracked: TrackedRun, thermometer=None, generator=None,
                 scaling_temperature: float | None = None, rng: np.random.Generator | None = None) -> None:
        self.measurements = analysis["measurements"]
        self.reader = analysis.get("thermometer")
        self.scaling = analysis.get("scaling")
        self.tracked, self.thermometer, self.generator = tracked, thermometer, generator
        self.scaling_temperature, self.rng = scaling_temperature, rng
        self.readings: dict[str, dict[float, list]] = {}
        self.deltas: dict[str, dict[str, list]] = {}

    def __call__(self, stage: str, temperature: float, configs: list[np.ndarray]) -> dict:
        curves: dict[str, list] = {}
        for step, x in enumerate(configs):
            estimates = dict(self.measurements(x))
            reading = self._read(x)
            if reading is not None:
                estimates["temperature"] = reading.mean_temperature
                self.readings.setdefault(stage, {}).setdefault(temperature, []).append(reading)
            for name, est in estimates.items():
                self.tracked.log_metrics({f"{stage}/{name}/T{temperature:.4f}": est.value,
                                          f"{stage}/{name}_err/T{temperature:.4f}": est.error}, step=step)
                curves.setdefault(name, []).append((est.value, est.error))
            if self.scaling is not None and temperature == self.scaling_temperature:
                self._fit_deltas(stage, step, x)
        return curves

    def _fit_deltas(self, stage: str, step: int, x: np.ndarray) -> None:
        """Δ_op of configurations x (a flow length or RG step) at the scaling temperature."""
        for op in self.scaling.operators:
            fit = self.scaling.fit(x, op, self.rng)
            if fit is None:
                continue
            self.tracked.log_metrics({f"{stage}/delta_{op}": fit.value, f"{stage}/delta_{op}_ci_low": fit.ci_low,
                                      f"{stage}/delta_{op}_ci_high": fit.ci_high}, step=step)
            self.deltas.setdefault(stage, {}).setdefault(op, []).append((step, fit.value, fit.ci_low, fit.ci_high))

    def log_deltas(self) -> dict[str, dict[str, list]]:
        """The Δ-against-step figures; returns the fitted points."""
        xlabels = {"flow": "flow length", "rg": "RG step", "stack": "stacked-RBM layer"}
        for stage, points in self.deltas.items():
            fig = delta_curves(points, {"sigma": 0.125, "epsilon": 1.0}, xlabels.get(stage, "step"),
                               f"{stage} at T = {self.scaling_temperature:.4f}")
            self.tracked.log_figure(fig, f"figures/delta_{stage}.png")
        return self.deltas

    def _read(self, x: np.ndarray):
        if self.thermometer is None or tuple(x.shape[1:]) != tuple(self.thermometer.model.lattice_shape):
            return None
        return self.reader.measure(self.thermometer, x, generator=self.generator)

    def log_histograms(self, max_temperatures: int = 6) -> None:
        """One heat map of readings against flow length per initial temperature (at most a few)."""
        for stage, per_t in self.readings.items():
            temps = sorted(per_t)
            chosen = [temps[i] for i in np.unique(np.linspace(0, len(temps) - 1, max_temperatures).astype(int))]
            for t in chosen:
                if len(per_t[t]) < 2:  # a single reading (e.g. RG step 0 only) is no flow
                    continue
                readings = {f"{stage} {k}": r for k, r in enumerate(per_t[t])}
                fig = plot_temperature_histograms(readings, T_c=None, kind="heatmap")
                self.tracked.log_figure(fig, f"figures/temperature_{stage}_T{t:.4f}.png")


def train_thermometer_stage(analysis: dict, data: IsingData, generator: torch.Generator,
                            device: torch.device, tracked: TrackedRun):
    """Train the thermometer on the Monte Carlo data (None when switched off or one temperature)."""
    reader = analysis.get("thermometer")
    if reader is None or len(data.temperatures) < 2:
        return None

    def log(step: int, metrics: dict[str, float]) -> None:
        tracked.log_metrics({f"thermometer/{k}": v for k, v in metrics.items()}, step=step)

    result = reader.fit(data, generator, device=device, log=log)
    tracked.log_metrics(result.metrics(prefix="thermometer/final/"))
    tracked.log_figure(plot_confusion(result), "figures/thermometer_confusion.png")
    return result


def receptive_stage(analysis: dict, model, data: IsingData, rg, gen: np.random.Generator,
                    tracked: TrackedRun) -> dict[str, Any]:
    """C_ia maps and G(d) for every model layer and one block-spin step, at one temperature."""
    spec = analysis.get("receptive")
    if spec is None or len(data.lattice_shape) != 2:
        return {}
    i = spec.pick(data.temperatures)
    spins = data.spins[i][: spec.n_samples].astype(np.float64)
    torch_gen = torch.Generator(device=model.device if hasattr(model, "device") else "cpu")
    torch_gen.manual_seed(int(gen.integers(2**62)))
    correlators = {}
    if hasattr(model, "rbms"):
        for layer in range(1, len(model.rbms) + 1):
            correlators[f"stack layer {layer}"] = stacked_correlator(model, spins, layer, sample=spec.sample,
                                                                    generator=torch_gen)
    else:
        correlators["RBM"] = rbm_correlator(model, spins, sample=spec.sample, generator=torch_gen)
    correlators[f"RG ({rg.rule}, b={rg.b})"] = rg_correlator(spins, rg.b, rg.rule, 1, gen)
    curves = {}
    for label, c in correlators.items():
        slug = label.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "").replace("=", "")
        tracked.log_figure(plot_correlator_maps(c, data.lattice_shape, spec.n_units), f"figures/C_ia_{slug}.png")
        curves[label] = correlator_of_correlators(c, data.lattice_shape)
        tracked.log_arrays(f"arrays/G_{slug}.npz", d=curves[label].d, G=curves[label].G, dG=curves[label].dG)
    tracked.log_figure(plot_G(curves), "figures/G_of_d.png")
    tracked.set_tags({"receptive_temperature": f"{data.temperatures[i]:.6g}"})
    return {"temperature": float(data.temperatures[i]), "G": {k: v.G.tolist() for k, v in curves.items()}}
