"""Training an RBM by CD-k / persistent CD-k, with checkpoints that resume bit for bit.

``RBMTrainer(model, data, generator=g, epochs=..., batch_size=..., lr=..., ...)`` validates every
hyperparameter (they make a :class:`rgexp.hyperparameters.TrainConfig`) before doing any
work (one-line ``ValueError`` naming the parameter), splits off a random held-out set, and
``fit()`` runs epochs of shuffled mini-batches. Each update is the
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
from typing import Any

import numpy as np
import torch

from ..checks import is_int
from ..errors import Interrupted
from ..seeding import as_seed_sequence, torch_generator
from .cd import CDKernel
from .hyperparameters import HYPERPARAMETERS, STRUCTURAL, TrainConfig, takes_hyperparameters, validate_hyperparameters
from .metrics import empirical_entropy, rbm_metrics
from .optim import lr_at, make_optimizer
from .rbm import RBM

__all__ = ["RBMTrainer", "train_rbm", "validate_hyperparameters", "HYPERPARAMETERS", "TrainConfig"]

LogFn = Callable[[int, dict[str, float]], None]
CheckpointFn = Callable[[dict], None]

_STATE_VERSION = 1
# Updates whose products are this small run on one CPU thread: threads cannot speed up such
# GEMMs and elementwise ops, and on a busy machine every OpenMP/MKL barrier waits for the
# scheduler (measured on 2 shared cores: 100→64 at batch 100, 0.37 ms/update on 1 thread vs
# 1.1 ms on 2). The caller's thread count is restored when fit returns.
SINGLE_THREAD_FLOPS = 8_000_000


def _device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type == device.type:
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator(device=device).manual_seed(seed)


def _as_data(data, model: RBM) -> torch.Tensor:
    """(n, n_visible) on the model's device: floats as the model's dtype; integer values (compact
    data, :meth:`RBM.from_spins` with ``compact=True``) as int8, converted a batch at a time."""
    x = torch.from_numpy(np.asarray(data)) if not isinstance(data, torch.Tensor) else data
    if x.dim() != 2 or x.shape[1] != model.n_visible:
        raise ValueError(f"data must have shape (n_samples, {model.n_visible}), got {tuple(x.shape)}")
    compact = not x.is_floating_point()
    if x.shape[0] and ((not compact and not torch.isfinite(x).all()) or x.min() < model.low or x.max() > 1):
        conv = "±1 (units='spin')" if model.units == "spin" else "{0,1} (units='binary'; see RBM.from_spins)"
        raise ValueError(f"data must be in the model's unit convention, values in {conv}; "
                         f"got values in [{float(x.min())}, {float(x.max())}]")
    return x.to(device=model.device, dtype=torch.int8 if compact else model.dtype).contiguous()


@takes_hyperparameters
class RBMTrainer:
    """Mini-batch CD-k / PCD-k training of one :class:`RBM` (see the module docstring).

    ``data``: array or tensor (n_samples, n_visible) in the model's unit convention (means in
    [low, 1] are accepted, e.g. hidden activations of a lower layer). The last
    ``n_train mod batch_size`` samples of each epoch's permutation are skipped (a different
    remainder every epoch), so every update has the same batch size. The keyword arguments after
    ``generator`` are the fields of :class:`rgexp.hyperparameters.TrainConfig`, with its defaults
    (the experiments' own), held as ``self.config``.
    """

    def __init__(self, model: RBM, data, *, generator: torch.Generator, **hyperparameters: Any) -> None:
        self.config = config = TrainConfig(**hyperparameters)
        if not isinstance(model, RBM):
            raise ValueError(f"model must be an rgexp.models.RBM, got {type(model).__name__}")
        self.model = model
        self.generator = _device_generator(generator, model.device)
        x = _as_data(data, model)
        n = x.shape[0]
        n_hold = int(config.holdout_fraction * n)
        if n - n_hold < config.batch_size:
            raise ValueError(f"batch_size must be <= the number of training samples ({n - n_hold}), "
                             f"got {config.batch_size}")
        self.n_hold = n_hold
        self.data = x  # rows in their original order; the split is a permutation of their indices
        self._set_split(torch.randperm(n, generator=self.generator, device=self.generator.device).to(x.device))
        self.kernel = CDKernel(model, config.batch_size, k=config.k, persistent=config.persistent)
        self.optimizer = make_optimizer(model, config.optimizer, momentum=config.momentum,
                                        weight_decay=config.weight_decay, l1=config.l1, adam_beta1=config.adam_beta1,
                                        adam_beta2=config.adam_beta2, adam_eps=config.adam_eps)
        self.epoch = 0  # completed epochs
        self.update = 0  # completed updates
        self._batch = 0  # completed batches of the current epoch
        self._perm: torch.Tensor | None = None
        self.history: list[dict[str, float]] = []
        self.metrics_seconds = 0.0  # time spent measuring diagnostics (not in the state: a clock)
        self._exact = min(model.n_visible, model.n_hidden) <= config.exact_max_units
        self._entropy: float | None = None

    def _set_split(self, split: torch.Tensor) -> None:
        """Held-out rows are ``data[split[:n_hold]]``, training rows ``data[split[n_hold:]]``: indices,
        not copies (the data set is the largest thing training holds)."""
        self._split = split
        self.holdout_index, self.train_index = split[: self.n_hold], split[self.n_hold :]

    def _rows(self, index: torch.Tensor) -> torch.Tensor:
        """data[index] in the model's dtype (compact data converted)."""
        return self.data[index].to(self.model.dtype)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def n_batches(self) -> int:
        """Updates per epoch."""
        return self.train_index.numel() // self.config.batch_size

    @property
    def total_updates(self) -> int:
        return self.config.epochs * self.n_batches

    def current_lr(self) -> float:
        c = self.config
        return lr_at(c.lr, c.lr_schedule, self.update, self.total_updates, c.lr_final_fraction)

    def _data_entropy(self) -> float:
        if self._entropy is None:
            train = self.data[self.train_index]
            discrete = bool(((train == 1.0) | (train == self.model.low)).all())
            self._entropy = empirical_entropy(train, self.model.low) if discrete else float("nan")
        return self._entropy

    def metrics(self) -> dict[str, float]:
        """Diagnostics of the current model (see :mod:`rgexp.models.metrics`), without touching the training RNG."""
        n = self.config.metric_samples
        gen = torch.Generator(device=self.generator.device).manual_seed(1_000_003 * (self.epoch + 1))
        holdout = self._rows(self.holdout_index[:n]) if self.n_hold else None
        out = rbm_metrics(self.model, self._rows(self.train_index[:n]), holdout, gen,
                          train_all=self._rows(self.train_index) if self._exact else None,
                          data_entropy=self._data_entropy() if self._exact else None, exact=self._exact)
        out["lr"] = self.current_lr()
        return out

    # ------------------------------------------------------------------ training
    def _start_chains(self) -> None:
        idx = torch.randint(0, self.train_index.numel(), (self.config.batch_size,), generator=self.generator,
                            device=self.generator.device).to(self.data.device)
        self.kernel.init_chains(self._rows(self.train_index[idx]), self.generator)

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
        if not is_int(checkpoint_every) or checkpoint_every < 0:
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
        return 2 * self.config.batch_size * self.model.n_visible * self.model.n_hidden

    def _fit(self, log, on_checkpoint, checkpoint_every, should_stop) -> dict[str, float]:
        c, kernel, gen = self.config, self.kernel, self.generator
        bs, n_batches, total = c.batch_size, self.n_batches, self.total_updates
        if c.persistent and kernel.chains is None:
            self._start_chains()
        while self.epoch < c.epochs:
            t0 = time.perf_counter()
            if self._perm is None:
                self._perm = torch.randperm(self.train_index.numel(), generator=gen, device=gen.device)
                self._perm = self._perm.to(self.data.device)
            perm = self._perm
            for b in range(self._batch, n_batches):
                kernel.load_batch(self.data, self.train_index[perm[b * bs : (b + 1) * bs]])
                kernel.run(gen)
                self.optimizer.step(kernel, lr_at(c.lr, c.lr_schedule, self.update, total, c.lr_final_fraction))
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
            every = c.metrics_every
            if every and (self.epoch % every == 0 or self.epoch == c.epochs):
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
            "hyperparameters": self.config.as_dict(),
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
        now = self.config.as_dict()
        diff = {k: (state["hyperparameters"].get(k), now[k]) for k in STRUCTURAL
                if state["hyperparameters"].get(k) != now[k]}
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
            self._set_split(split)
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
    seed: int | np.random.SeedSequence = 0,
    log: LogFn | None = None,
    **hyperparameters: Any,
) -> dict[str, float]:
    """Train ``model`` in place with a generator from ``seed`` (an int or a SeedSequence); return final metrics.

    ``hyperparameters`` as for :class:`RBMTrainer` (the fields of
    :class:`rgexp.hyperparameters.TrainConfig`, with its defaults).
    """
    gen = torch_generator(as_seed_sequence(seed), device=model.device)
    return RBMTrainer(model, data, generator=gen, **hyperparameters).fit(log=log)
