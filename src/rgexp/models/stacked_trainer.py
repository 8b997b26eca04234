"""Greedy layer-wise training of a :class:`StackedRBM`.

Layer 0 trains on the data; layer k+1 trains on layer k's hidden activations of the whole data
set — conditional means (``propagate="mean"``) or one sample per configuration
(``propagate="sample"``). Every layer is an :class:`RBMTrainer` with the shared hyperparameters,
updated by ``layer_overrides`` (a list with one dict per layer, or a dict ``{layer: {...}}``), e.g.
Mehta & Schwab's per-layer lr/momentum/L1.

Randomness: at construction two seeds per layer are drawn from ``generator`` (one for the layer's
trainer, one for propagating data into the next layer), so a resumed run rebuilds the data of the
current layer exactly. Metrics are logged as ``layer{k}/<name>`` at a global epoch step (epochs of
the layers below plus the epoch within the layer). Checkpoints carry the whole stack, the current
layer and its trainer's state; ``should_stop`` and ``Interrupted`` behave as in RBMTrainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

import torch

from rgexp.hyperparameters import StackOptions, takes

from .hyperparameters import TrainConfig, validate_hyperparameters
from .stacked import StackedRBM
from .trainer import CheckpointFn, LogFn, RBMTrainer, _as_data, _device_generator

__all__ = ["StackedRBMTrainer"]

_STATE_VERSION = 1


_OWN = tuple(f.name for f in fields(StackOptions))


@takes(TrainConfig, StackOptions)
class StackedRBMTrainer:
    """Greedy layer-wise CD/PCD training (see module docstring); ``fit()`` returns all layers' final metrics.

    The keyword arguments besides ``generator`` are the fields of
    :class:`rgexp.hyperparameters.TrainConfig`, shared by every layer, and of
    :class:`rgexp.hyperparameters.StackOptions` (``propagate``, ``layer_overrides``);
    ``self.layer_configs[j]`` is layer j's, overrides applied.
    """

    def __init__(self, model: StackedRBM, data, *, generator: torch.Generator, **hyperparameters: Any) -> None:
        options = StackOptions(**{k: v for k, v in hyperparameters.items() if k in _OWN})
        base = TrainConfig(**{k: v for k, v in hyperparameters.items() if k not in _OWN})
        propagate = options.propagate
        if not isinstance(model, StackedRBM):
            raise ValueError(f"model must be an rgexp.models.StackedRBM, got {type(model).__name__}")
        n_layers = len(model)
        overrides = _normalise_overrides(options.layer_overrides, n_layers)
        self.layer_configs: list[TrainConfig] = []
        x = _as_data(data, model.rbms[0])
        for j in range(n_layers):
            validate_hyperparameters(prefix=f"layer_overrides[{j}].", **overrides[j])
            config = replace(base, **overrides[j])
            n_train = x.shape[0] - int(config.holdout_fraction * x.shape[0])
            if config.batch_size > n_train:
                raise ValueError(f"batch_size must be <= the number of training samples ({n_train}), "
                                 f"got {config.batch_size} (layer {j})")
            self.layer_configs.append(config)
        self.model, self.propagate, self.data = model, propagate, x
        gen = _device_generator(generator, model.device)
        seeds = torch.randint(0, 2**62, (n_layers, 2), generator=gen, device=gen.device).tolist()
        self.seeds: list[list[int]] = [[int(a), int(b)] for a, b in seeds]
        self.layer = 0  # index of the layer being trained (n_layers when done)
        self.trainer: RBMTrainer | None = None
        self.final: dict[str, float] = {}
        self._metrics_seconds = 0.0  # finished layers' diagnostics time

    # ------------------------------------------------------------------ progress
    def _layer_updates(self, j: int) -> int:
        """Updates layer j's training makes (its epochs × its batches)."""
        c = self.layer_configs[j]
        n = self.data.shape[0]
        return c.epochs * ((n - int(c.holdout_fraction * n)) // c.batch_size)

    @property
    def total_updates(self) -> int:
        """Updates of every layer together."""
        return sum(self._layer_updates(j) for j in range(len(self.model)))

    @property
    def update(self) -> int:
        """Completed updates: the finished layers' and the current layer's."""
        done = sum(self._layer_updates(j) for j in range(min(self.layer, len(self.model))))
        return done + (self.trainer.update if self.trainer is not None else 0)

    @property
    def metrics_seconds(self) -> float:
        """Time spent measuring diagnostics, every layer's so far (a clock: not in the state)."""
        return self._metrics_seconds + (self.trainer.metrics_seconds if self.trainer is not None else 0.0)

    # ------------------------------------------------------------------ helpers
    def _gen(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.model.device).manual_seed(seed)

    @torch.no_grad()
    def layer_data(self, j: int) -> torch.Tensor:
        """Training input of layer j: the data propagated through layers 0..j-1 (deterministic per seed)."""
        x = self.data
        for i in range(j):
            rbm = self.model.rbms[i]
            x = rbm.sample_hiddens(x, self._gen(self.seeds[i][1])) if self.propagate == "sample" else rbm.mean_hiddens(x)
        return x

    def _make_trainer(self, j: int) -> RBMTrainer:
        return RBMTrainer(self.model.rbms[j], self.layer_data(j), generator=self._gen(self.seeds[j][0]),
                          **self.layer_configs[j].as_dict())

    def _epoch_offset(self, j: int) -> int:
        return sum(c.epochs for c in self.layer_configs[:j])

    # ------------------------------------------------------------------ training
    def fit(
        self,
        log: LogFn | None = None,
        on_checkpoint: CheckpointFn | None = None,
        checkpoint_every: int = 0,
        should_stop: Callable[[], bool] | None = None,
    ) -> dict[str, float]:
        """Train the remaining layers in order; same callbacks as :meth:`RBMTrainer.fit`."""
        while self.layer < len(self.model):
            j = self.layer
            if self.trainer is None:
                self.trainer = self._make_trainer(j)
            offset, prefix = self._epoch_offset(j), f"layer{j}/"
            layer_log = None if log is None else (
                lambda step, m: log(offset + step, {prefix + key: v for key, v in m.items()}))
            layer_ckpt = None if on_checkpoint is None else (lambda st: on_checkpoint(self._wrap(st)))
            final = self.trainer.fit(layer_log, layer_ckpt, checkpoint_every, should_stop)
            self.final.update({prefix + key: v for key, v in final.items()})
            self._metrics_seconds += self.trainer.metrics_seconds
            self.layer, self.trainer = j + 1, None
        return dict(self.final)

    # ------------------------------------------------------------------ checkpoints
    def _wrap(self, layer_state: dict | None) -> dict:
        return {
            "version": _STATE_VERSION,
            "layer": self.layer,
            "seeds": [list(s) for s in self.seeds],
            "layer_hyperparameters": [c.as_dict() for c in self.layer_configs],
            "model": {key: v.detach().to("cpu", copy=True) for key, v in self.model.state_dict().items()},
            "layer_state": layer_state,
            "final": dict(self.final),
        }

    def state_dict(self) -> dict:
        """Tensors and plain Python values only (``torch.load(weights_only=True)`` reads it)."""
        return self._wrap(None if self.trainer is None else self.trainer.state_dict())

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"StackedRBMTrainer state version {state.get('version')!r} is not {_STATE_VERSION}")
        if state["seeds"] != self.seeds:
            raise ValueError("checkpoint was made with a different generator (per-layer seeds differ)")
        self.model.load_state_dict(state["model"])
        self.layer, self.final = int(state["layer"]), dict(state["final"])
        self.trainer = None
        if state["layer_state"] is not None and self.layer < len(self.model):
            self.trainer = self._make_trainer(self.layer)
            self.trainer.load_state_dict(state["layer_state"])


def _normalise_overrides(overrides, n_layers: int) -> list[dict[str, Any]]:
    """One (possibly empty) dict per layer from a list, a {layer: dict} mapping or None."""
    if overrides is None:
        return [{} for _ in range(n_layers)]
    if isinstance(overrides, Mapping):
        out = [{} for _ in range(n_layers)]
        for key, val in overrides.items():
            j = int(key)
            if not 0 <= j < n_layers:
                raise ValueError(f"layer_overrides has layer {key!r}; the stack has layers 0..{n_layers - 1}")
            out[j] = dict(val or {})
        return out
    items = [dict(o or {}) for o in overrides]
    if len(items) > n_layers:
        raise ValueError(f"layer_overrides has {len(items)} entries; the stack has {n_layers} layers")
    return items + [{} for _ in range(n_layers - len(items))]
