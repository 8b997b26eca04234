"""The neural thermometer: a supervised classifier that reads a temperature off a configuration.

As in de Mello Koch et al. (following Iso et al.): L² inputs → ``hidden`` tanh units (80) → one
softmax logit per temperature class (60 there), trained by cross-entropy on Monte Carlo data,
with a held-out split (60 % train / 40 % test). One thermometer per lattice size: it refuses
configurations of any other shape.

* :class:`Thermometer` — the ``nn.Module``; knows its ``temperatures`` (class labels, increasing)
  and ``lattice_shape``.
* :func:`~rgexp.analysis.thermometer_training.train_thermometer` → :class:`ThermometerResult`:
  the model, held-out accuracy and within-one-class accuracy (binomial errors), held-out
  cross-entropy, confusion matrix, per-epoch history.
* :func:`measure_temperatures` → :class:`TemperatureReading`: the temperature distribution of any
  set of configurations (flows, RG layers, stacked-RBM layers).
* :class:`~rgexp.analysis.thermometer_training.NeuralThermometer` — the config-instantiated
  front end; training lives in :mod:`rgexp.analysis.thermometer_training`.

Inputs use the ±1 spin convention (convert {0,1} RBM units with ``RBM.to_spins`` first); values
outside [-1, 1] are refused. Real-valued inputs — 2×2 block averages in {-1, -½, 0, ½, 1},
mean-field flows in [-1, 1] — are handled by ``real_inputs``:

* ``"as_is"`` (default) feeds them unchanged. The network saw only ±1 spins in training, so this
  is an extrapolation; values of reduced magnitude resemble disorder and plausibly read hotter.
* ``"sample"`` replaces each value x by a ±1 spin with p(+1) = (1 + x)/2 (:func:`sample_spins`),
  so inputs are on the training manifold and E[spin] = x. The independent per-site noise it adds
  is itself disorder and plausibly biases readings upward too; ±1 inputs pass unchanged.
* ``"sign"`` replaces each value by its sign, a 0 by a random ±1 (:func:`sign_spins`): 2×2 block
  averages become majority-rule block spins, mean-field flows their most probable spins. It keeps
  the magnitude |s| = 1 that nearest-neighbour correlations (and the energy reading) depend on:
  for ``"as_is"`` and ``"sample"`` alike the expected ⟨s s′⟩ of neighbours is x x′, which shrinks
  with |x| and reads hot.

Neither choice is neutral (neither bias has been quantified here): report which one was used, and
compare both before trusting absolute temperatures of real-valued configurations. Randomness
(initialisation, split, batch order, sampling) comes only from the ``torch.Generator`` passed in.

Statistics: held-out accuracies are binomial, error sqrt(p(1-p)/n), which assumes independent
test configurations — Monte Carlo samples thinned to about one autocorrelation time are nearly
so; strongly correlated samples make the error (and the split's independence) optimistic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from rgexp.hyperparameters import RealInputs, ThermometerConfig, check_values
from rgexp.metric_names import estimate_metrics
from rgexp.stats import Estimate, mean_estimate

__all__ = [
    "Thermometer",
    "ThermometerResult",
    "TemperatureReading",
    "measure_temperatures",
    "sample_spins",
    "binomial_estimate",
    "validate_thermometer_hyperparameters",
]

EVAL_BATCH = 1024  # configurations per forward pass when only evaluating: a 64×64 batch and its
# float copies (conversion, clamp, signs) stay ~20 MB each (8,192 rows took 0.7 GB at a time)


def validate_thermometer_hyperparameters(**hp: Any) -> None:
    """Raise ``ValueError("<name> must be <range>, got <value>")`` for the first bad value (the
    checks of :class:`rgexp.hyperparameters.ThermometerConfig`, the hyperparameters' one home)."""
    check_values(ThermometerConfig, **hp)


def binomial_estimate(successes: int, n: int, ci_level: float = 0.9) -> Estimate:
    """k/n with its binomial standard error sqrt(p(1-p)/n) and the Wilson score interval
    (scipy.stats.binomtest's)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    from scipy.stats import binomtest

    p = successes / n
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=ci_level, method="wilson")
    return Estimate(p, math.sqrt(p * (1 - p) / n), float(ci.low), float(ci.high), ci_level, n_eff=float(n))


class Thermometer(nn.Module):
    """L² → ``hidden`` tanh → n_T logits; ``temperatures`` (n_T,) float64 buffer, increasing.

    With a ``generator`` the weights are Glorot-uniform (Keras' default, which the paper used) and
    the biases zero; without one everything is zero — a shell for ``load_state_dict``. The
    global torch RNG is never touched.
    """

    def __init__(
        self,
        lattice_shape: Sequence[int],
        temperatures: Sequence[float] | np.ndarray | torch.Tensor,
        hidden: int = ThermometerConfig.hidden,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        validate_thermometer_hyperparameters(hidden=hidden)
        temps = np.asarray(torch.as_tensor(temperatures, dtype=torch.float64).cpu(), dtype=np.float64)
        if temps.ndim != 1 or temps.size < 2 or not np.all(np.isfinite(temps)) or np.any(np.diff(temps) <= 0):
            raise ValueError(f"temperatures must be >= 2 finite, strictly increasing values, got {temps}")
        self.lattice_shape: tuple[int, ...] = tuple(int(n) for n in lattice_shape)
        if not self.lattice_shape or min(self.lattice_shape) < 1:
            raise ValueError(f"lattice_shape must be non-empty with positive sizes, got {lattice_shape}")
        self.register_buffer("temperatures", torch.tensor(temps, dtype=torch.float64))
        n_in = int(np.prod(self.lattice_shape))
        # skip_init: build the layers without drawing from the global RNG.
        self.hidden_layer = torch.nn.utils.skip_init(nn.Linear, n_in, int(hidden))
        self.output_layer = torch.nn.utils.skip_init(nn.Linear, int(hidden), temps.size)
        self.reset_parameters(generator)

    @property
    def n_visible(self) -> int:
        return int(np.prod(self.lattice_shape))

    @property
    def n_classes(self) -> int:
        return int(self.temperatures.numel())

    @property
    def hidden(self) -> int:
        return int(self.hidden_layer.out_features)

    def extra_repr(self) -> str:
        t = self.temperatures
        return f"lattice_shape={self.lattice_shape}, n_T={self.n_classes}, T in [{t[0]:.4g}, {t[-1]:.4g}]"

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights from ``generator`` (zeros without one), zero biases."""
        for layer in (self.hidden_layer, self.output_layer):
            layer.bias.zero_()
            if generator is None:
                layer.weight.zero_()
                continue
            bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
            w = torch.empty(layer.weight.shape, device=generator.device, dtype=layer.weight.dtype)
            layer.weight.copy_(w.uniform_(-bound, bound, generator=generator))

    def flatten_inputs(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(n, *lattice_shape) or (n, n_visible) → (n, n_visible) in the parameters' dtype/device.

        Anything else is refused: one thermometer per lattice size.
        """
        x = torch.as_tensor(x)
        shape = tuple(x.shape)
        if shape[1:] != self.lattice_shape and shape[1:] != (self.n_visible,):
            raise ValueError(
                f"configurations of shape {shape} do not fit this thermometer's lattice "
                f"{self.lattice_shape} (expected (n, {', '.join(map(str, self.lattice_shape))}) or "
                f"(n, {self.n_visible})); train one thermometer per lattice size"
            )
        w = self.hidden_layer.weight
        return x.reshape(shape[0], self.n_visible).to(device=w.device, dtype=w.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, n_T) of configurations (n, *lattice_shape) or (n, n_visible)."""
        return self.output_layer(torch.tanh(self.hidden_layer(self.flatten_inputs(x))))


@dataclass(frozen=True, eq=False)
class ThermometerResult:
    """A trained thermometer and its held-out performance.

    confusion:   (n_T, n_T) int64 counts on the held-out set, rows = true class, cols = predicted.
    history:     one dict per epoch: train_loss, test_loss, test_accuracy, test_within_one.
    train_index, test_index: positions in the flattened data (IsingData order: temperature-major).
    """

    model: Thermometer
    accuracy: Estimate
    within_one_accuracy: Estimate
    test_loss: Estimate
    confusion: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    train_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    test_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def temperatures(self) -> np.ndarray:
        return self.model.temperatures.detach().cpu().numpy().copy()

    def metrics(self, prefix: str = "thermometer/") -> dict[str, float]:
        """Flat final metrics for logging: ``<prefix>accuracy``, ``<prefix>within_one``,
        ``<prefix>test_loss``, each with its companions (``_err``, ``_ci_low``, …; rgexp.metric_names)."""
        out = estimate_metrics(f"{prefix}accuracy", self.accuracy)
        out |= estimate_metrics(f"{prefix}within_one", self.within_one_accuracy)
        out |= estimate_metrics(f"{prefix}test_loss", self.test_loss)
        return out


@dataclass(frozen=True, eq=False)
class TemperatureReading:
    """The temperature distribution a thermometer assigns to a set of n configurations.

    temperatures:  (n_T,) the thermometer's classes.
    probabilities: (n_T,) softmax outputs averaged over configurations (sums to 1).
    counts:        (n_T,) int64 argmax counts (the paper's reading: the most probable class).
    predicted:     (n,) int64 argmax class of each configuration (for binning observables).
    mean_temperature:     mean over configurations of the argmax temperature, error std/√n.
    expected_temperature: mean over configurations of Σ_k p_k T_k, error std/√n.
    likelihood_temperature: the ensemble's maximum-likelihood temperature (:func:`likelihood_temperature`).
    Errors treat the configurations as independent.
    """

    temperatures: np.ndarray
    probabilities: np.ndarray
    counts: np.ndarray
    predicted: np.ndarray
    mean_temperature: Estimate
    expected_temperature: Estimate
    likelihood_temperature: Estimate | None = None
    real_inputs: str = ThermometerConfig.real_inputs

    @property
    def n(self) -> int:
        return int(self.predicted.size)

    @property
    def fractions(self) -> np.ndarray:
        """(n_T,) argmax counts / n."""
        return self.counts / max(self.n, 1)

    @property
    def mode_temperature(self) -> float:
        return float(self.temperatures[int(np.argmax(self.counts))])


def sample_spins(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """±1 spins with p(+1) = (1 + x)/2, so E[spin] = x; x in [-1, 1], any shape, same dtype/device.

    Uniform draws come from ``generator`` on its own device. ±1 inputs come back unchanged.
    """
    u = torch.rand(x.shape, generator=generator, device=generator.device, dtype=torch.float64)
    up = u.to(x.device) < (1.0 + x.double()) / 2.0
    return torch.where(up, 1.0, -1.0).to(x.dtype)


def sign_spins(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The sign of each value, a random ±1 where it is 0 (draws from ``generator`` on its device);
    any shape, same dtype/device; ±1 inputs come back unchanged."""
    out = torch.sign(x)
    ties = out == 0
    n = int(ties.sum())
    if n:  # draws only for the ties: a 40,000 × 4096 layer needs no second full-size array
        u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64)
        out[ties] = torch.where(u.to(x.device) < 0.5, 1.0, -1.0).to(x.dtype)
    return out


def spin_inputs(x: torch.Tensor, real_inputs: RealInputs, generator: torch.Generator | None) -> torch.Tensor:
    """Configurations as the ``real_inputs`` rule feeds them: unchanged (``as_is``), ±1 draws with
    mean x (``sample``) or signs, 0 at random (``sign``); the last two need ``generator``."""
    if real_inputs == "as_is":
        return x
    if generator is None:
        raise ValueError(f"real_inputs={real_inputs!r} needs a torch.Generator")
    convert = sample_spins if real_inputs == "sample" else sign_spins
    return convert(x.clamp(-1.0, 1.0), generator)


@torch.no_grad()
def measure_temperatures(
    model: Thermometer,
    configs: torch.Tensor | np.ndarray,
    *,
    real_inputs: RealInputs = ThermometerConfig.real_inputs,
    generator: torch.Generator | None = None,
) -> TemperatureReading:
    """Temperature distribution of configs (n, *lattice_shape) or (n, n_visible) with values in [-1, 1].

    ``real_inputs`` says how non-±1 values are fed (module docstring): ``"as_is"`` or
    ``"sample"`` (needs ``generator``). Shapes other than the thermometer's are refused.
    """
    validate_thermometer_hyperparameters(real_inputs=real_inputs)
    if len(configs) < 1:
        raise ValueError("measure_temperatures needs at least one configuration")
    was_training = model.training
    model.eval()
    log_probs = []
    for start in range(0, len(configs), EVAL_BATCH):  # converted per batch: memory O(batch), not O(set)
        x = model.flatten_inputs(configs[start:start + EVAL_BATCH])
        if not torch.all(x.abs() <= 1.0 + 1e-6):  # also catches NaN
            model.train(was_training)
            raise ValueError("configurations must be in the ±1 convention with values in [-1, 1] "
                             "(map {0,1} units to ±1 first)")
        log_probs.append(torch.log_softmax(model(spin_inputs(x, real_inputs, generator)).double(), dim=1))
    model.train(was_training)
    log_p = torch.cat(log_probs).cpu().numpy()
    p = np.exp(log_p)
    pred = p.argmax(axis=1)
    temps = model.temperatures.detach().cpu().numpy().copy()
    return TemperatureReading(
        temperatures=temps,
        probabilities=p.mean(axis=0),
        counts=np.bincount(pred, minlength=temps.size).astype(np.int64),
        predicted=pred.astype(np.int64),
        mean_temperature=mean_estimate(temps[pred], tau_int=0.5),
        expected_temperature=mean_estimate(p @ temps, tau_int=0.5),
        likelihood_temperature=likelihood_temperature(log_p, temps),
        real_inputs=real_inputs,
    )


def likelihood_temperature(log_p: np.ndarray, temperatures: np.ndarray, ci_level: float = 0.9) -> Estimate:
    """The temperature at which a set of configurations is most likely: log_p (n, n_T) -> Estimate.

    With balanced classes, log p(T_k | x) = log p(x | T_k) + (terms without k), so
    ℓ(T_k) = Σ_i log p(T_k | x_i) is the ensemble's log-likelihood up to a constant; its maximum is
    interpolated by a parabola through the best grid point and its neighbours. Unlike the mean of
    per-configuration argmax readings, it does not regress toward the middle of the grid when each
    configuration alone says little. Error: the sandwich (per-configuration scores of the same
    parabola over the curvature), valid even where the thermometer is not exactly calibrated.
    A maximum on the grid's first or last point is censored (the ensemble lies at or beyond it):
    that point is returned with error NaN.
    """
    log_p = np.asarray(log_p, dtype=np.float64)
    temps = np.asarray(temperatures, dtype=np.float64)
    n = log_p.shape[0]
    ell = log_p.sum(axis=0)
    k = int(np.argmax(ell))
    if k == 0 or k == temps.size - 1:
        return Estimate(float(temps[k]), math.nan, n_eff=float(n))
    t0, t1, t2 = temps[k - 1:k + 2]
    a, b = _parabolas(t0, t1, t2, log_p[:, k - 1:k + 2])  # per configuration: (n,), (n,)
    curvature = 2.0 * a.sum()
    if not curvature < 0:  # flat: no information beyond the grid point
        return Estimate(float(t1), math.nan, n_eff=float(n))
    t_hat = float(np.clip(-b.sum() / curvature, t0, t2))
    scores = 2.0 * a * t_hat + b
    err = float(math.sqrt(np.sum(scores**2)) / -curvature)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + ci_level / 2))
    return Estimate(t_hat, err, t_hat - z * err, t_hat + z * err, ci_level, n_eff=float(n))


def _parabolas(t0: float, t1: float, t2: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients a, b of a t² + b t + c through (t_j, y[:, j]), j = 0, 1, 2, for each row of y (n, 3)."""
    d01 = (y[:, 1] - y[:, 0]) / (t1 - t0)
    d12 = (y[:, 2] - y[:, 1]) / (t2 - t1)
    a = (d12 - d01) / (t2 - t0)
    return a, d01 - a * (t0 + t1)
