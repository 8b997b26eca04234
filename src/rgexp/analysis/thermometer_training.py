"""Training the neural thermometer, and its config-instantiated front end.

:func:`train_thermometer` splits the data per temperature class (stratified, ``train_fraction``
for training), trains a :class:`~rgexp.analysis.thermometer.Thermometer` by cross-entropy with
shuffled mini-batches (Adam or SGD), and evaluates the held-out set after every epoch. Every
random draw — initialisation, split, batch order — comes from the one ``torch.Generator`` passed
in, so a seed fixes the model bit for bit (on CPU, for a given thread count).
:class:`NeuralThermometer` is the ``_target_`` of ``conf/analysis``: it validates in
``__init__`` and trains in :meth:`NeuralThermometer.fit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from rgexp.analysis.thermometer import (
    EVAL_BATCH,
    TemperatureReading,
    Thermometer,
    ThermometerResult,
    binomial_estimate,
    measure_temperatures,
    spin_inputs,
)
from rgexp.analysis.energy_thermometer import EnergyCurve
from rgexp.analysis.observables import per_row
from rgexp.hyperparameters import READINGS, ThermometerConfig, takes
from rgexp.ising.data import IsingData
from rgexp.stats import Estimate, mean_estimate

__all__ = ["train_thermometer", "NeuralThermometer", "SINGLE_THREAD_FLOPS", "READINGS"]

LogFn = Callable[[int, dict[str, float]], None]
# One training GEMM (2·batch·n_visible·hidden) at or below this runs on one CPU thread.
SINGLE_THREAD_FLOPS = 8_000_000


def _as_dataset(data: IsingData | tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(configs (n, *lattice), labels (n,) class indices, temperatures (n_T,) increasing)."""
    if isinstance(data, IsingData):
        n_t, n_s = len(data.temperatures), data.n_samples
        x = data.spins.reshape(n_t * n_s, *data.lattice_shape)
        temps = np.asarray(data.temperatures, dtype=np.float64)
        labels = np.repeat(np.arange(n_t), n_s)
        order = np.argsort(temps, kind="stable")  # classes sorted by T, whatever the grid order
        if np.any(np.diff(temps[order]) <= 0):
            raise ValueError(f"IsingData temperatures must be distinct, got {temps}")
        rank = np.empty(n_t, dtype=np.int64)
        rank[order] = np.arange(n_t)
        return x, rank[labels], temps[order]
    if isinstance(data, tuple) and len(data) == 2:
        x, t = np.asarray(data[0]), np.asarray(data[1], dtype=np.float64)
        if x.ndim < 2 or t.shape != (x.shape[0],):
            raise ValueError(f"(configs, labels) must be (n, *lattice) and (n,) temperatures, got "
                             f"{x.shape} and {t.shape}")
        temps = np.unique(t)
        return x, np.searchsorted(temps, t), temps
    raise TypeError(f"data must be IsingData or (configs, temperatures), got {type(data).__name__}")


def _stratified_split(labels: np.ndarray, n_classes: int, train_fraction: float,
                      generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per class: a random ``round(train_fraction * n_c)`` for training, the rest held out."""
    train, test = [], []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        n_tr = int(round(train_fraction * idx.size))
        if n_tr < 1 or n_tr >= idx.size:
            raise ValueError(f"class {c} has {idx.size} configurations: too few for a train/test "
                             f"split at train_fraction={train_fraction}")
        perm = torch.randperm(idx.size, generator=generator, device=generator.device).cpu().numpy()
        train.append(idx[perm[:n_tr]])
        test.append(idx[perm[n_tr:]])
    return np.concatenate(train), np.concatenate(test)


@torch.no_grad()
def _evaluate(model: Thermometer, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-configuration cross-entropy (n,) and argmax class (n,)."""
    losses, preds = [], []
    for start in range(0, x.shape[0], EVAL_BATCH):
        logits = model(x[start:start + EVAL_BATCH])
        losses.append(F.cross_entropy(logits, y[start:start + EVAL_BATCH], reduction="none"))
        preds.append(logits.argmax(dim=1))
    return torch.cat(losses), torch.cat(preds)


def _fit(model: Thermometer, x_tr: torch.Tensor, y_tr: torch.Tensor, x_te: torch.Tensor,
         y_te: torch.Tensor, *, epochs: int, batch_size: int, lr: float, optimizer: str,
         weight_decay: float, generator: torch.Generator, log: LogFn | None,
         ) -> tuple[list[dict[str, float]], torch.Tensor, torch.Tensor]:
    """The epoch loop; returns the history and the last held-out losses (n_te,) and predictions."""
    device = x_tr.device
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    # Fused kernels: one call per step instead of a Python loop over tensors (same arithmetic).
    fused = device.type in ("cpu", "cuda")
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused)
    history: list[dict[str, float]] = []
    n_tr = x_tr.shape[0]
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n_tr, generator=generator, device=generator.device).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, n_tr, batch_size):
            batch = perm[start:start + batch_size]
            loss = F.cross_entropy(model(x_tr[batch]), y_tr[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * batch.numel()
        model.eval()
        loss_te, pred = _evaluate(model, x_te, y_te)
        entry = {
            "train_loss": float(total) / n_tr,
            "test_loss": float(loss_te.mean()),
            "test_accuracy": float((pred == y_te).double().mean()),
            "test_within_one": float(((pred - y_te).abs() <= 1).double().mean()),
        }
        history.append(entry)
        if log is not None:
            log(epoch, dict(entry))
    return history, loss_te, pred


@takes(ThermometerConfig, only=ThermometerConfig.TRAINING)
def train_thermometer(
    data: IsingData | tuple[np.ndarray, np.ndarray],
    *,
    generator: torch.Generator,
    device: str | torch.device = "cpu",
    log: LogFn | None = None,
    **hyperparameters: Any,
) -> ThermometerResult:
    """Train a thermometer by cross-entropy with shuffled mini-batches; evaluate on the held-out set.

    data: :class:`IsingData` (spins (n_T, n_samples, *lattice)) or ``(configs, temperatures)``
    with configs (n, *lattice) in ±1 and temperatures (n,) the label of each (classes = the
    distinct values). The split is stratified, so both sets have every class in proportion.
    The keywords besides ``generator``, ``device`` and ``log`` are the training fields of
    :class:`rgexp.hyperparameters.ThermometerConfig` (``ThermometerConfig.TRAINING``), with its
    defaults. ``log(epoch, metrics)`` is called after each epoch (1-based) with the history entry.
    """
    unknown = set(hyperparameters) - set(ThermometerConfig.TRAINING)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]} is not a thermometer training hyperparameter; known: "
                         f"{', '.join(ThermometerConfig.TRAINING)}")
    c = ThermometerConfig(**hyperparameters)
    hidden, epochs, batch_size, lr = c.hidden, c.epochs, c.batch_size, c.lr
    optimizer, train_fraction, weight_decay = c.optimizer, c.train_fraction, c.weight_decay
    x_np, labels, temps = _as_dataset(data)
    train_idx, test_idx = _stratified_split(labels, temps.size, train_fraction, generator)
    device = torch.device(device)
    model = Thermometer(x_np.shape[1:], temps, hidden, generator=generator).to(device)
    # int8 spins stay int8 (a quarter of float32's memory): the forward pass converts each batch
    x = torch.from_numpy(np.ascontiguousarray(x_np)).reshape(x_np.shape[0], -1)
    x = x.to(device) if x.dtype == torch.int8 else model.flatten_inputs(x)
    if not torch.all(x.abs() <= 1):
        raise ValueError("training configurations must be ±1 spins (values in [-1, 1])")
    y = torch.from_numpy(labels).to(device)
    x_tr, y_tr = x[torch.from_numpy(train_idx).to(device)], y[torch.from_numpy(train_idx).to(device)]
    x_te, y_te = x[torch.from_numpy(test_idx).to(device)], y[torch.from_numpy(test_idx).to(device)]
    # Small products run faster on one thread: on shared cores every OpenMP barrier waits for the
    # scheduler (4×4, batch 200: 2 s on one thread vs 20-35 s on two). Restored on return.
    threads = torch.get_num_threads()
    single = (device.type == "cpu" and threads > 1
              and 2 * batch_size * model.n_visible * hidden <= SINGLE_THREAD_FLOPS)
    if single:
        torch.set_num_threads(1)
    try:
        history, loss_te, pred = _fit(model, x_tr, y_tr, x_te, y_te, epochs=epochs, batch_size=batch_size,
                                      lr=lr, optimizer=optimizer, weight_decay=weight_decay,
                                      generator=generator, log=log)
    finally:
        if single:
            torch.set_num_threads(threads)
    n_te = int(y_te.numel())
    pred_np, y_np = pred.cpu().numpy(), y_te.cpu().numpy()
    confusion = np.zeros((temps.size, temps.size), dtype=np.int64)
    np.add.at(confusion, (y_np, pred_np), 1)
    return ThermometerResult(
        model=model,
        accuracy=binomial_estimate(int(np.trace(confusion)), n_te),
        within_one_accuracy=binomial_estimate(int(np.sum(np.abs(pred_np - y_np) <= 1)), n_te),
        test_loss=mean_estimate(loss_te.double().cpu().numpy(), tau_int=0.5),
        confusion=confusion,
        history=history,
        train_index=train_idx,
        test_index=test_idx,
    )


@takes(ThermometerConfig)
class NeuralThermometer:
    """Config-instantiated thermometer (``_target_: rgexp.analysis.NeuralThermometer``); its keywords
    are the fields of :class:`rgexp.hyperparameters.ThermometerConfig`, held as ``self.config`` and
    read as attributes (``self.reading``).

    ``__init__`` only validates; :meth:`fit` trains one thermometer on one lattice size's data and
    :meth:`measure` reads temperatures with this config's ``real_inputs`` rule. With
    ``coarse_lattices`` the pipeline also trains one per coarse lattice size that the RG steps and
    square stacked-RBM layers reach, on fresh Monte Carlo data of that size (same temperatures).

    ``temperatures``: the classes. None: the data's temperature grid, and the data's own lattice
    size trains on the data. A list: every thermometer (the data's size included) trains on fresh
    Monte Carlo data at these temperatures, ``n_samples`` per temperature (None: the sampler's) —
    a grid wider than the data's lets readings of coarse-grained lattices go beyond it (a b = 2
    block step roughly doubles T − T_c, so readings of a grid around T_c saturate at its edge).

    ``reading``: the temperature logged for a set of configurations. "mean": the mean of each
    configuration's most probable class (the paper's). "likelihood": the set's maximum-likelihood
    temperature (:func:`rgexp.analysis.thermometer.likelihood_temperature`), which does not regress
    toward the middle of the grid when single configurations say little (small coarse lattices);
    at the grid's edge it is censored (logged at the edge, error NaN). "energy": the temperature
    whose Monte Carlo mean energy per site (of the thermometer's data on that lattice) matches the
    set's, with the sampler's own energy — the exact maximum-likelihood temperature of the sampled
    model (:mod:`rgexp.analysis.energy_thermometer`): for sampler=long_range −Σ_{i<j} J_ij s_i s_j
    with the run's couplings on each lattice size read (a coarse lattice gets the coupling table of
    its own L), for the nearest-neighbour samplers the nearest-neighbour product ⟨s s'⟩.
    "nn_energy": the nearest-neighbour moment match ⟨s s'⟩ whatever the sampler (the same as
    "energy" for nearest-neighbour samplers; for long range not sufficient for T). The network is
    still trained and its accuracy logged.
    "magnetization": the temperature whose Monte Carlo ⟨|m|⟩ matches the set's (not sufficient for T:
    set beside the energy reading, it shows whether a set is an equilibrium Ising ensemble at all).
    """

    def __init__(self, **hyperparameters: Any) -> None:
        self.config = ThermometerConfig(**hyperparameters)

    def __getattr__(self, name: str) -> Any:  # the config's fields read as attributes (reader.reading)
        if name != "config" and name in ThermometerConfig.__dataclass_fields__:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"NeuralThermometer({repr(self.config).split('(', 1)[1]}"

    def fit(self, data: IsingData, generator: torch.Generator, device: str | torch.device = "cpu",
            log: LogFn | None = None) -> ThermometerResult:
        """Train on ``data`` (one lattice size) with this configuration."""
        training = {name: getattr(self.config, name) for name in ThermometerConfig.TRAINING}
        return train_thermometer(data, generator=generator, device=device, log=log, **training)

    def measure(self, model: Thermometer | ThermometerResult, configs: torch.Tensor | np.ndarray,
                generator: torch.Generator | None = None) -> TemperatureReading:
        """:func:`measure_temperatures` with this config's ``real_inputs``."""
        if isinstance(model, ThermometerResult):
            model = model.model
        return measure_temperatures(model, configs, real_inputs=self.real_inputs, generator=generator)

    def temperature(self, reading: TemperatureReading, configs: np.ndarray | None = None,
                    curve: EnergyCurve | None = None, generator: torch.Generator | None = None) -> Estimate:
        """The temperature this config logs for a reading of ``configs``: by ``reading`` = mean or
        likelihood from the network's reading, energy, nn_energy or magnetization from ``curve`` (the
        lattice's Monte Carlo energy per site, ⟨s s'⟩ or ⟨|m|⟩ against T)."""
        if self.reading == "likelihood":
            return reading.likelihood_temperature
        if self.reading == "mean":
            return reading.mean_temperature
        if curve is None or configs is None:
            raise ValueError(f"the {self.reading} reading needs the configurations and the lattice's {self.reading} curve")
        def statistic(chunk: np.ndarray) -> np.ndarray:  # converted per chunk of rows: memory O(chunk)
            x = torch.as_tensor(np.asarray(chunk, dtype=np.float64))
            return curve.statistic(spin_inputs(x, self.real_inputs, generator).numpy())

        return curve.read_statistic(per_row(statistic, configs))
