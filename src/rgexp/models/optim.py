"""Parameter updates from CD statistics: SGD (+momentum) and Adam, and learning-rate schedules.

These are gradient *ascent* steps on the log-likelihood, fed directly from the buffers of a
:class:`~rgexp.models.cd.CDKernel`, so the weight gradient never needs its own pass:

- plain SGD folds ``vᵀh`` into the weights with one ``addmm_`` (weight decay rides on its
  ``beta``), the biases with one ``addmv_`` each;
- SGD with momentum accumulates into a velocity with the same ``addmm_``
  (torch.optim.SGD convention: buf ← μ buf + g, θ ← θ + lr buf);
- Adam writes the gradient into a buffer with one ``addmm`` and applies the update of
  ``torch.optim.Adam`` (L2-style weight decay, bias-corrected moments) with ``_foreach`` ops.

Weight decay and L1 act on the weights only, never on the biases. Frozen parameters
(``requires_grad=False``, i.e. ``biases=False``) are never touched. State is tensors and plain
Python values only (``torch.load(weights_only=True)`` reads it back).
"""

from __future__ import annotations

import math

import torch

from rgexp.hyperparameters import LRSchedule, Optimizer  # their one home (with TrainConfig)

from .cd import CDKernel
from .rbm import RBM

__all__ = ["SGD", "Adam", "make_optimizer", "lr_at", "LRSchedule"]



def lr_at(lr: float, schedule: LRSchedule, update: int, total: int, final_fraction: float) -> float:
    """Learning rate for update number ``update`` (0-based) of ``total``; ends at lr·final_fraction."""
    if schedule == "constant" or total <= 1:
        return lr
    t = min(update, total - 1) / (total - 1)
    f = final_fraction
    if schedule == "linear":
        return lr * (1.0 + (f - 1.0) * t)
    if schedule == "cosine":
        return lr * (f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * t)))
    if schedule == "exponential":
        return lr * f**t
    raise ValueError(f"lr_schedule must be one of constant, linear, cosine, exponential, got {schedule!r}")


def _trainable(model: RBM) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


class SGD:
    """Stochastic gradient ascent with optional momentum, weight decay and L1 on the weights."""

    def __init__(self, model: RBM, momentum: float = 0.0, weight_decay: float = 0.0, l1: float = 0.0) -> None:
        self.model, self.momentum, self.weight_decay, self.l1 = model, momentum, weight_decay, l1
        self.params = _trainable(model)
        self.velocity = {n: torch.zeros_like(p) for n, p in self.params.items()} if momentum > 0 else {}
        self.step_count = 0

    @torch.no_grad()
    def step(self, kernel: CDKernel, lr: float) -> None:
        w, n, mu = self.model.weight, kernel.batch_size, self.momentum
        vt, ht = kernel.v.t(), kernel.h.t()
        biases = "visible_bias" in self.params
        b, c = self.model.visible_bias, self.model.hidden_bias
        if mu == 0.0:
            sign_w = w.sign() if self.l1 else None
            w.addmm_(vt, kernel.h, beta=1.0 - lr * self.weight_decay, alpha=lr / n)
            if sign_w is not None:
                w.add_(sign_w, alpha=-lr * self.l1)
            if biases:
                b.addmv_(vt, kernel.sign, alpha=lr / n)
                c.addmv_(ht, kernel.ones, alpha=lr / n)
        else:
            vel = self.velocity
            vel["weight"].addmm_(vt, kernel.h, beta=mu, alpha=1.0 / n)
            if self.weight_decay:
                vel["weight"].add_(w, alpha=-self.weight_decay)
            if self.l1:
                vel["weight"].add_(w.sign(), alpha=-self.l1)
            w.add_(vel["weight"], alpha=lr)
            if biases:
                vel["visible_bias"].addmv_(vt, kernel.sign, beta=mu, alpha=1.0 / n)
                vel["hidden_bias"].addmv_(ht, kernel.ones, beta=mu, alpha=1.0 / n)
                b.add_(vel["visible_bias"], alpha=lr)
                c.add_(vel["hidden_bias"], alpha=lr)
        self.step_count += 1

    def state_dict(self) -> dict:
        return {"kind": "sgd", "step": self.step_count, "velocity": {k: v.clone() for k, v in self.velocity.items()}}

    def load_state_dict(self, state: dict) -> None:
        _check_kind(state, "sgd")
        self.step_count = int(state["step"])
        for k, v in self.velocity.items():
            v.copy_(state["velocity"][k])


class Adam:
    """Adam ascent with the update rule of ``torch.optim.Adam`` (eps added outside the square root)."""

    def __init__(
        self,
        model: RBM,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        self.model, self.betas, self.eps, self.weight_decay, self.l1 = model, betas, eps, weight_decay, l1
        self.params = _trainable(model)
        self.grad = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.exp_avg = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.exp_avg_sq = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.step_count = 0

    @torch.no_grad()
    def step(self, kernel: CDKernel, lr: float) -> None:
        w, n, g = self.model.weight, kernel.batch_size, self.grad
        torch.addmm(g["weight"], kernel.v.t(), kernel.h, beta=0.0, alpha=1.0 / n, out=g["weight"])
        if self.weight_decay:
            g["weight"].add_(w, alpha=-self.weight_decay)
        if self.l1:
            g["weight"].add_(w.sign(), alpha=-self.l1)
        if "visible_bias" in g:
            torch.mv(kernel.v.t(), kernel.sign, out=g["visible_bias"]).div_(n)
            torch.mv(kernel.h.t(), kernel.ones, out=g["hidden_bias"]).div_(n)
        names = list(self.params)
        params = [self.params[k] for k in names]
        grads, m, v = [g[k] for k in names], [self.exp_avg[k] for k in names], [self.exp_avg_sq[k] for k in names]
        self.step_count += 1
        b1, b2 = self.betas
        bc1, bc2 = 1.0 - b1**self.step_count, 1.0 - b2**self.step_count
        torch._foreach_lerp_(m, grads, 1.0 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, 1.0 - b2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, math.sqrt(bc2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, lr / bc1)

    def state_dict(self) -> dict:
        return {
            "kind": "adam",
            "step": self.step_count,
            "exp_avg": {k: t.clone() for k, t in self.exp_avg.items()},
            "exp_avg_sq": {k: t.clone() for k, t in self.exp_avg_sq.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        _check_kind(state, "adam")
        self.step_count = int(state["step"])
        for k in self.exp_avg:
            self.exp_avg[k].copy_(state["exp_avg"][k])
            self.exp_avg_sq[k].copy_(state["exp_avg_sq"][k])


def _check_kind(state: dict, kind: str) -> None:
    if state.get("kind") != kind:
        raise ValueError(f"optimizer state is for {state.get('kind')!r}, this trainer uses {kind!r}")


def make_optimizer(
    model: RBM,
    kind: Optimizer,
    *,
    momentum: float,
    weight_decay: float,
    l1: float,
    adam_beta1: float,
    adam_beta2: float,
    adam_eps: float,
) -> SGD | Adam:
    if kind == "sgd":
        return SGD(model, momentum=momentum, weight_decay=weight_decay, l1=l1)
    return Adam(model, betas=(adam_beta1, adam_beta2), eps=adam_eps, weight_decay=weight_decay, l1=l1)
