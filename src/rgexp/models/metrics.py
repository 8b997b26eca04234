"""Training diagnostics of an RBM: one flat ``{name: float}`` per evaluation, for metric logging.

None of these touch the training generator: the stochastic pseudo-log-likelihood draws from its
own generator seeded by the caller, so evaluating metrics never changes the training stream.

- ``recon_error``: mean squared error of the mean-field reconstruction E[v | E[h|v]], in {0,1}
  units (spin errors divided by 4), on a fixed subset of the training data.
- ``pseudo_log_likelihood``: n_visible · log σ(F(ṽ) − F(v)) with one random unit of each sample
  flipped in ṽ (scikit-learn's estimator of Σ_i log p(v_i | v_{-i})), averaged over the subset.
- ``free_energy_gap``: mean F(held-out) − mean F(training subset); growing values mean overfitting.
- exact (min(n_visible, n_hidden) ≤ the trainer's ``exact_max_units``): ``log_likelihood`` and
  ``log_likelihood_holdout`` (mean log p(v), exact log Z), and ``kl_exact`` = KL(p_data ‖ p_model)
  to the empirical distribution of the training data, = −H(p_data) − mean_train log p_model(v).
- weight statistics: ``weight_mean``, ``weight_std``, ``weight_abs_max``, ``weight_norm`` and the
  bias means.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .rbm import RBM

__all__ = ["empirical_entropy", "reconstruction_error", "pseudo_log_likelihood", "weight_statistics", "rbm_metrics"]


def empirical_entropy(data: torch.Tensor, low: float) -> float:
    """Entropy (nats) of the empirical distribution of the rows of two-valued ``data`` (n, d)
    (values ``low`` or 1); rows are packed into bytes so that counting is one NumPy sort."""
    bits = (data != low).cpu().numpy()
    packed = np.ascontiguousarray(np.packbits(bits, axis=1))
    rows = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, counts = np.unique(rows, return_counts=True)
    p = counts / data.shape[0]
    return float(-(p * np.log(p)).sum())


@torch.no_grad()
def reconstruction_error(model: RBM, v: torch.Tensor) -> float:
    scale = 0.25 if model.units == "spin" else 1.0
    rec = model.mean_visibles(model.mean_hiddens(v))
    return float((v - rec).square_().mean()) * scale


@torch.no_grad()
def pseudo_log_likelihood(model: RBM, v: torch.Tensor, generator: torch.Generator) -> float:
    idx = torch.randint(0, model.n_visible, (v.shape[0],), generator=generator, device=generator.device)
    idx = idx.to(v.device)
    rows = torch.arange(v.shape[0], device=v.device)
    flipped = v.clone()
    flipped[rows, idx] = -v[rows, idx] if model.units == "spin" else 1.0 - v[rows, idx]
    delta = model.free_energy(flipped) - model.free_energy(v)
    return float(model.n_visible * F.logsigmoid(delta).mean())


@torch.no_grad()
def weight_statistics(model: RBM) -> dict[str, float]:
    w = model.weight
    return {
        "weight_mean": float(w.mean()),
        "weight_std": float(w.std()) if w.numel() > 1 else 0.0,
        "weight_abs_max": float(w.abs().max()),
        "weight_norm": float(torch.linalg.vector_norm(w)),
        "visible_bias_mean": float(model.visible_bias.mean()),
        "hidden_bias_mean": float(model.hidden_bias.mean()),
    }


@torch.no_grad()
def rbm_metrics(
    model: RBM,
    train_subset: torch.Tensor,
    holdout_subset: torch.Tensor | None,
    generator: torch.Generator,
    *,
    train_all: torch.Tensor | None = None,
    data_entropy: float | None = None,
    exact: bool = False,
) -> dict[str, float]:
    """All diagnostics for one evaluation (see module docstring); exact ones only when ``exact``."""
    out = {
        "recon_error": reconstruction_error(model, train_subset),
        "pseudo_log_likelihood": pseudo_log_likelihood(model, train_subset, generator),
    }
    if holdout_subset is not None and holdout_subset.shape[0] > 0:
        n = min(train_subset.shape[0], holdout_subset.shape[0])
        gap = model.free_energy(holdout_subset[:n]).mean() - model.free_energy(train_subset[:n]).mean()
        out["free_energy_gap"] = float(gap)
    if exact:
        log_z = float(model.log_partition_exact())
        data = train_all if train_all is not None else train_subset
        ll = -float(model.free_energy(data).double().mean()) - log_z
        out["log_likelihood"] = ll
        out["log_partition"] = log_z
        if data_entropy is not None and math.isfinite(data_entropy):
            out["kl_exact"] = -data_entropy - ll
        if holdout_subset is not None and holdout_subset.shape[0] > 0:
            out["log_likelihood_holdout"] = -float(model.free_energy(holdout_subset).double().mean()) - log_z
    out.update(weight_statistics(model))
    return out
