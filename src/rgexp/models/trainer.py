"""Training an RBM by CD-k / persistent CD-k, with checkpoints that resume bit for bit.

``RBMTrainer(model, data, generator=g, epochs=..., batch_size=..., lr=..., ...)`` validates every
hyperparameter before doing any work (one-line ``ValueError`` naming the parameter), splits off a
random held-out set, and ``fit()`` runs epochs of shuffled mini-batches. Each update is the
:class:`~rgexp.models.cd.CDKernel` statistics followed by an optimizer step from
:mod:`rgexp.models.optim` — the same path the speed benchmark times.

Determinism: every random draw (split, permutations, PCD chain start, Gibbs sampling) comes from
the trainer's generator, on the model's device. If the generator passed in lives on another
device, a device generator is seeded from one draw of it. Metrics use their own generator seeded
from the epoch number and never touch the training stream. ``state_dict()`` holds the model,
optimizer, generator state, counters, the current epoch's permutation, the persistent chains and
the metric history — tensors and plain Python values only — so a fresh trainer built with the
same arguments, after ``load_state_dict``, finishes ``fit()`` with exactly the parameters of an
uninterrupted run (on CPU; CUDA kernels are not guaranteed bitwise reproducible).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from ..errors import Interrupted
from ..seeding import as_seed_sequence, torch_generator
from .cd import CDKernel
from .metrics import empirical_entropy, rbm_metrics
from .optim import LRSchedule, lr_at, make_optimizer
from .rbm import MAX_EXACT_UNITS, RBM

__all__ = ["RBMTrainer", "train_rbm", "validate_hyperparameters", "HYPERPARAMETERS"]

LogFn = Callable[[int, dict[str, float]], None]
CheckpointFn = Callable[[dict], None]

_STATE_VERSION = 1
# Updates whose products are this small run on one CPU thread: threads cannot speed up such
# GEMMs and elementwise ops, and on a busy machine every OpenMP/MKL barrier waits for the
# scheduler (measured on 2 shared cores: 100→64 at batch 100, 0.37 ms/update on 1 thread vs
# 1.1 ms on 2). The caller's thread count is restored when fit returns.
SINGLE_THREAD_FLOPS = 8_000_000
# Changing these between a checkpoint and its resume would make the state meaningless.
_STRUCTURAL = ("batch_size", "k", "persistent", "optimizer", "momentum", "holdout_fraction")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_num(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


# name: (check, message) — the message completes "<name> must be ..., got <value>".
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": (lambda x: _is_int(x) and x >= 1, "an int >= 1"),
    "batch_size": (lambda x: _is_int(x) and x >= 1, "an int >= 1"),
    "lr": (lambda x: _is_num(x) and x > 0, "> 0"),
    "k": (lambda x: _is_int(x) and x >= 1, "an int >= 1"),
    "persistent": (lambda x: isinstance(x, bool), "a bool"),
    "optimizer": (lambda x: x in ("sgd", "adam"), "one of 'sgd', 'adam'"),
    "momentum": (lambda x: _is_num(x) and 0 <= x < 1, "in [0, 1)"),
    "weight_decay": (lambda x: _is_num(x) and x >= 0, ">= 0"),
    "l1": (lambda x: _is_num(x) and x >= 0, ">= 0"),
    "adam_beta1": (lambda x: _is_num(x) and 0 <= x < 1, "in [0, 1)"),
    "adam_beta2": (lambda x: _is_num(x) and 0 <= x < 1, "in [0, 1)"),
    "adam_eps": (lambda x: _is_num(x) and x > 0, "> 0"),
    "lr_schedule": (lambda x: x in ("constant", "linear", "cosine", "exponential"),
                    "one of 'constant', 'linear', 'cosine', 'exponential'"),
    "lr_final_fraction": (lambda x: _is_num(x) and 0 < x <= 1, "in (0, 1]"),
    "holdout_fraction": (lambda x: _is_num(x) and 0 <= x < 1, "in [0, 1)"),
    "metrics_every": (lambda x: _is_int(x) and x >= 0, "an int >= 0"),
    "metric_samples": (lambda x: _is_int(x) and x >= 1, "an int >= 1"),
    "exact_max_units": (lambda x: _is_int(x) and 0 <= x <= MAX_EXACT_UNITS, f"an int in [0, {MAX_EXACT_UNITS}]"),
}
HYPERPARAMETERS: tuple[str, ...] = tuple(_CHECKS)


def validate_hyperparameters(prefix: str = "", **hp: Any) -> None:
    """Raise ``ValueError("<prefix><name> must be <range>, got <value>")`` for the first bad value."""
    for name, value in hp.items():
        if name not in _CHECKS:
            raise ValueError(f"{prefix}{name} is not an RBM training hyperparameter; known: {', '.join(_CHECKS)}")
        ok, what = _CHECKS[name]
        if not ok(value):
            raise ValueError(f"{prefix}{name} must be {what}, got {value!r}")
    if hp.get("momentum") and hp.get("optimizer", "sgd") != "sgd":  # checked once both are known
        raise ValueError(f"{prefix}momentum must be 0 with optimizer='adam' (Adam has its own), got {hp['momentum']!r}")


def _plain(v: Any) -> Any:
    """numpy scalars → Python scalars (checkpoints must hold plain types only)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if _is_int(v):
        return int(v)
    return float(v) if _is_num(v) else v


def _device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type == device.type:
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator(device=device).manual_seed(seed)


def _as_data(data, model: RBM) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(data)) if not isinstance(data, torch.Tensor) else data
    if x.dim() != 2 or x.shape[1] != model.n_visible:
        raise ValueError(f"data must have shape (n_samples, {model.n_visible}), got {tuple(x.shape)}")
    x = x.to(device=model.device, dtype=model.dtype)
    if x.shape[0] and (not torch.isfinite(x).all() or x.min() < model.low or x.max() > 1.0):
        conv = "±1 (units='spin')" if model.units == "spin" else "{0,1} (units='binary'; see RBM.from_spins)"
        raise ValueError(f"data must be in the model's unit convention, values in {conv}; "
                         f"got values in [{float(x.min())}, {float(x.max())}]")
    return x.contiguous()


class RBMTrainer:
    """Mini-batch CD-k / PCD-k training of one :class:`RBM` (see the module docstring).

    ``data``: array or tensor (n_samples, n_visible) in the model's unit convention (means in
    [low, 1] are accepted, e.g. hidden activations of a lower layer). The last
    ``n_train mod batch_size`` samples of each epoch's permutation are skipped (a different
    remainder every epoch), so every update has the same batch size.
    """

    def __init__(
        self,
        model: RBM,
        data,
        *,
        generator: torch.Generator,
        epochs: int,
        batch_size: int,
        lr: float,
        k: int = 1,
        persistent: bool = False,
        optimizer: Literal["sgd", "adam"] = "adam",
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        adam_beta1: float = 0.9,
        adam_beta2: float = 0.999,
        adam_eps: float = 1e-8,
        lr_schedule: LRSchedule = "constant",
        lr_final_fraction: float = 0.01,
        holdout_fraction: float = 0.1,
        metrics_every: int = 1,
        metric_samples: int = 1000,
        exact_max_units: int = 20,
    ) -> None:
        hp = dict(epochs=epochs, batch_size=batch_size, lr=lr, k=k, persistent=persistent, optimizer=optimizer,
                  momentum=momentum, weight_decay=weight_decay, l1=l1, adam_beta1=adam_beta1,
                  adam_beta2=adam_beta2, adam_eps=adam_eps, lr_schedule=lr_schedule,
                  lr_final_fraction=lr_final_fraction, holdout_fraction=holdout_fraction,
                  metrics_every=metrics_every, metric_samples=metric_samples, exact_max_units=exact_max_units)
        validate_hyperparameters(**hp)
        if not isinstance(model, RBM):
            raise ValueError(f"model must be an rgexp.models.RBM, got {type(model).__name__}")
        self.hp = {k_: _plain(v) for k_, v in hp.items()}
        self.model = model
        self.generator = _device_generator(generator, model.device)
        x = _as_data(data, model)
        n = x.shape[0]
        n_hold = int(holdout_fraction * n)
        if n - n_hold < batch_size:
            raise ValueError(f"batch_size must be <= the number of training samples ({n - n_hold}), got {batch_size}")
        self.n_hold = n_hold
        self._split = torch.randperm(n, generator=self.generator, device=self.generator.device).to(x.device)
        self._set_data(x)
        self.kernel = CDKernel(model, batch_size, k=k, persistent=persistent)
        self.optimizer = make_optimizer(model, optimizer, momentum=momentum, weight_decay=weight_decay, l1=l1,
                                        adam_beta1=adam_beta1, adam_beta2=adam_beta2, adam_eps=adam_eps)
        self.epoch = 0  # completed epochs
        self.update = 0  # completed updates
        self._batch = 0  # completed batches of the current epoch
        self._perm: torch.Tensor | None = None
        self.history: list[dict[str, float]] = []
        self.metrics_seconds = 0.0  # time spent measuring diagnostics (not in the state: a clock)
        self._exact = min(model.n_visible, model.n_hidden) <= exact_max_units
        self._entropy: float | None = None

    def _set_data(self, x: torch.Tensor) -> None:
        """Split the data (rows in original order) by ``self._split``: held-out rows first."""
        self.holdout = x[self._split[: self.n_hold]]
        self.train_data = x[self._split[self.n_hold :]].contiguous()

    def _original_data(self) -> torch.Tensor:
        x = torch.empty((self._split.numel(), self.model.n_visible), dtype=self.model.dtype, device=self.model.device)
        x[self._split[: self.n_hold]] = self.holdout
        x[self._split[self.n_hold :]] = self.train_data
        return x

    # ------------------------------------------------------------------ bookkeeping
    @property
    def n_batches(self) -> int:
        """Updates per epoch."""
        return self.train_data.shape[0] // self.hp["batch_size"]

    @property
    def total_updates(self) -> int:
        return self.hp["epochs"] * self.n_batches

    def current_lr(self) -> float:
        hp = self.hp
        return lr_at(hp["lr"], hp["lr_schedule"], self.update, self.total_updates, hp["lr_final_fraction"])

    def _data_entropy(self) -> float:
        if self._entropy is None:
            discrete = bool(((self.train_data == 1.0) | (self.train_data == self.model.low)).all())
            self._entropy = empirical_entropy(self.train_data, self.model.low) if discrete else float("nan")
        return self._entropy

    def metrics(self) -> dict[str, float]:
        """Diagnostics of the current model (see :mod:`rgexp.models.metrics`), without touching the training RNG."""
        n = self.hp["metric_samples"]
        gen = torch.Generator(device=self.generator.device).manual_seed(1_000_003 * (self.epoch + 1))
        holdout = self.holdout[:n] if self.n_hold else None
        out = rbm_metrics(self.model, self.train_data[:n], holdout, gen, train_all=self.train_data,
                          data_entropy=self._data_entropy() if self._exact else None, exact=self._exact)
        out["lr"] = self.current_lr()
        return out

    # ------------------------------------------------------------------ training
    def _start_chains(self) -> None:
        idx = torch.randint(0, self.train_data.shape[0], (self.hp["batch_size"],), generator=self.generator,
                            device=self.generator.device).to(self.train_data.device)
        self.kernel.init_chains(self.train_data[idx], self.generator)

    def fit(
        self,
        log: LogFn | None = None,
        on_checkpoint: CheckpointFn | None = None,
        checkpoint_every: int = 0,
        should_stop: Callable[[], bool] | None = None,
    ) -> dict[str, float]:
        """Train the remaining epochs; return the final metrics.

        ``log(epoch, metrics)`` after every ``metrics_every``-th epoch and the last (never when
        ``metrics_every`` is 0: then nothing is measured and ``{}`` is returned — for timing);
        ``on_checkpoint(state_dict)`` every ``checkpoint_every`` updates (0: never in between) and
        at the end; ``should_stop()`` is polled after every update — when it returns True the
        state is handed to ``on_checkpoint`` and :class:`rgexp.errors.Interrupted` is raised.
        """
        if not _is_int(checkpoint_every) or checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be an int >= 0, got {checkpoint_every!r}")
        threads = torch.get_num_threads()
        single = self.model.device.type == "cpu" and self._gemm_flops() <= SINGLE_THREAD_FLOPS and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            return self._fit(log, on_checkpoint, checkpoint_every, should_stop)
        finally:
            if single:
                torch.set_num_threads(threads)

    def _gemm_flops(self) -> int:
        """Flops of one of the five matrix products of an update, 2·B·n_visible·n_hidden."""
        return 2 * self.hp["batch_size"] * self.model.n_visible * self.model.n_hidden

    def _fit(self, log, on_checkpoint, checkpoint_every, should_stop) -> dict[str, float]:
        hp, kernel, gen = self.hp, self.kernel, self.generator
        bs, n_batches, total = hp["batch_size"], self.n_batches, self.total_updates
        if hp["persistent"] and kernel.chains is None:
            self._start_chains()
        while self.epoch < hp["epochs"]:
            t0 = time.perf_counter()
            if self._perm is None:
                self._perm = torch.randperm(self.train_data.shape[0], generator=gen, device=gen.device)
                self._perm = self._perm.to(self.train_data.device)
            perm = self._perm
            for b in range(self._batch, n_batches):
                kernel.load_batch(self.train_data, perm[b * bs : (b + 1) * bs])
                kernel.run(gen)
                self.optimizer.step(kernel, lr_at(hp["lr"], hp["lr_schedule"], self.update, total,
                                                  hp["lr_final_fraction"]))
                self.update += 1
                self._batch = b + 1
                if should_stop is not None and should_stop():
                    if on_checkpoint is not None:
                        on_checkpoint(self.state_dict())
                    raise Interrupted(f"RBM training stopped at epoch {self.epoch}, update {self.update}")
                if checkpoint_every and self.update % checkpoint_every == 0 and on_checkpoint is not None:
                    on_checkpoint(self.state_dict())
            self.epoch += 1
            self._perm, self._batch = None, 0
            every = hp["metrics_every"]
            if every and (self.epoch % every == 0 or self.epoch == hp["epochs"]):
                t_metrics = time.perf_counter()
                m = self.metrics()
                self.metrics_seconds += time.perf_counter() - t_metrics
                m["epoch_seconds"] = time.perf_counter() - t0
                self.history.append(m)
                if log is not None:
                    log(self.epoch, m)
        if on_checkpoint is not None:
            on_checkpoint(self.state_dict())
        return dict(self.history[-1]) if self.history else {}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume bit for bit; tensors (on CPU) and plain Python values only."""
        cpu = lambda t: None if t is None else t.detach().to("cpu", copy=True)  # noqa: E731
        return {
            "version": _STATE_VERSION,
            "hyperparameters": dict(self.hp),
            "model": {k: cpu(v) for k, v in self.model.state_dict().items()},
            "optimizer": _tree_cpu(self.optimizer.state_dict()),
            "generator": self.generator.get_state().clone(),
            "generator_device": str(self.generator.device),
            "epoch": self.epoch,
            "update": self.update,
            "batch_in_epoch": self._batch,
            "permutation": cpu(self._perm),
            "split": cpu(self._split),
            "chains": cpu(self.kernel.chains),
            "history": [dict(h) for h in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (the trainer must have been built with the same arguments)."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"RBMTrainer state version {state.get('version')!r} is not {_STATE_VERSION}")
        diff = {k: (state["hyperparameters"].get(k), self.hp[k]) for k in _STRUCTURAL
                if state["hyperparameters"].get(k) != self.hp[k]}
        if diff:
            raise ValueError(f"checkpoint was made with different hyperparameters (saved, now): {diff}")
        dev = self.model.device
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch, self.update, self._batch = int(state["epoch"]), int(state["update"]), int(state["batch_in_epoch"])
        self._perm = None if state["permutation"] is None else state["permutation"].to(dev)
        split = state["split"].to(dev)
        if split.shape != self._split.shape:
            raise ValueError(f"checkpoint split covers {split.numel()} samples, the data has {self._split.numel()}")
        if not torch.equal(split, self._split):
            x = self._original_data()
            self._split = split
            self._set_data(x)
            self._entropy = None
        if state["chains"] is not None:
            if self.kernel.chains is None:
                self.kernel.chains = torch.empty_like(self.kernel.h_sample)
            self.kernel.chains.copy_(state["chains"])
        self.history = [dict(h) for h in state["history"]]


def _tree_cpu(x):
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", copy=True)
    if isinstance(x, dict):
        return {k: _tree_cpu(v) for k, v in x.items()}
    return x


def train_rbm(
    model: RBM,
    data,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    k: int = 1,
    persistent: bool = False,
    seed: int | np.random.SeedSequence = 0,
    log: LogFn | None = None,
    **opts: Any,
) -> dict[str, float]:
    """Train ``model`` in place with a generator from ``seed`` (an int or a SeedSequence); return final metrics.

    ``opts`` are further :class:`RBMTrainer` hyperparameters (optimizer, momentum, ...).
    """
    gen = torch_generator(as_seed_sequence(seed), device=model.device)
    trainer = RBMTrainer(model, data, generator=gen, epochs=epochs, batch_size=batch_size, lr=lr, k=k,
                         persistent=persistent, **opts)
    return trainer.fit(log=log)
