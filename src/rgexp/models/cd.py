"""The contrastive-divergence kernel: CD-k and persistent CD-k statistics in preallocated buffers.

One update of CD-1 is five matrix products plus sampling; this kernel is written so that those
products dominate (it is the one :class:`~rgexp.models.RBMTrainer` uses, on CPU and CUDA alike):

- everything lives in buffers allocated once per (model, batch size); every op writes ``out=`` or
  in place, so no large tensor is allocated, paged in and freed per update;
- the positive and negative phases share two stacked buffers,
  ``v = [v_data; v_model]`` (2B, n_visible) and ``h = [E[h|v_data]; -E[h|v_model]]`` (2B, n_hidden),
  so the two weight-gradient products ``v_dataᵀ h_data - v_modelᵀ h_model`` are one GEMM,
  ``vᵀh`` (the optimizers fold it straight into the weights with ``addmm_``), and the bias gradients
  are two GEMVs, ``vᵀ[1; -1]`` and ``hᵀ1``;
- transposes are strided views that BLAS reads directly (no transposed copies); for spin units
  the sign of ``-E[h|v_model]`` is folded into the GEMM (``tanh`` is odd).

Sampling matches :meth:`RBM.sample_from_mean` draw for draw: a unit is on where u < mean with
u ~ U[low, 1) from :func:`~rgexp.models.rbm.fill_uniform_` on a tensor of the same shape, so with
the same generator state the kernel and the readable reference produce the same samples.

Chains of persistent CD are stored as hidden samples (B, n_hidden): each update continues them
with v ~ p(v|h), ..., and the hidden sample drawn from the last E[h|v] (before the parameter
update) starts the next one, so PCD-1 also costs five products.
"""

from __future__ import annotations

import torch

from .rbm import RBM, fill_uniform_, uniform_scratch

__all__ = ["CDKernel"]


class CDKernel:
    """CD-k / PCD-k sufficient statistics for one RBM at a fixed batch size B.

    Usage: write a data batch into ``kernel.v_data`` (or call :meth:`load_batch`), call
    :meth:`run`, then read the statistics: ``gradient()`` or the raw buffers ``v``, ``h``,
    ``sign``, ``ones`` (the optimizers in :mod:`rgexp.models.optim` use the buffers directly).
    The estimate of the log-likelihood gradient (ascent direction, mean over the batch) is
    ``dW = vᵀh / B``, ``db = vᵀ sign / B``, ``dc = hᵀ ones / B``.
    """

    def __init__(self, model: RBM, batch_size: int, k: int = 1, persistent: bool = False) -> None:
        if batch_size < 1 or k < 1:
            raise ValueError(f"CDKernel needs batch_size >= 1 and k >= 1, got {batch_size}, {k}")
        self.model, self.batch_size, self.k, self.persistent = model, int(batch_size), int(k), bool(persistent)
        b, nv, nh = self.batch_size, model.n_visible, model.n_hidden
        kw = dict(dtype=model.dtype, device=model.device)
        self.v = torch.zeros(2 * b, nv, **kw)
        self.h = torch.zeros(2 * b, nh, **kw)
        self.v_data, self.v_model = self.v[:b], self.v[b:]
        self.h_data, self.h_model_neg = self.h[:b], self.h[b:]
        self.h_sample = torch.zeros(b, nh, **kw)
        self.u_v = torch.empty(b, nv, **kw)
        self.u_h = torch.empty(b, nh, **kw)
        # uniforms for visible / hidden sampling, with their 64-bit scratch (see fill_uniform_)
        self._uniform = {"v": (self.u_v, uniform_scratch(self.u_v)), "h": (self.u_h, uniform_scratch(self.u_h))}
        self.sign = torch.cat([torch.ones(b, **kw), -torch.ones(b, **kw)])
        self.ones = torch.ones(2 * b, **kw)
        self.chains: torch.Tensor | None = None  # (B, n_hidden) hidden samples, persistent only
        self._gathered: torch.Tensor | None = None  # (B, n_visible) batch of compact data, see load_batch

    # ------------------------------------------------------------------ pieces
    def _mean_(self, x: torch.Tensor) -> torch.Tensor:
        return x.tanh_() if self.model.units == "spin" else x.sigmoid_()

    def _sample_(self, mean: torch.Tensor, layer: str, out: torch.Tensor, gen: torch.Generator) -> None:
        """out ← units of ``layer`` ("v" or "h") that are on where u < mean (out may be ``mean``)."""
        u, scratch = self._uniform[layer]
        fill_uniform_(u, self.model.low, gen, scratch)
        torch.lt(u, mean, out=out)
        if self.model.units == "spin":
            out.mul_(2.0).sub_(1.0)

    def load_batch(self, data: torch.Tensor, index: torch.Tensor) -> None:
        """v_data ← data[index]: no intermediate copy for data of the model's dtype; compact (int8)
        data is gathered into a batch-sized int8 buffer and converted there (exact)."""
        if data.dtype == self.v_data.dtype:
            torch.index_select(data, 0, index, out=self.v_data)
            return
        if self._gathered is None or self._gathered.dtype != data.dtype:
            self._gathered = torch.empty(self.v_data.shape, dtype=data.dtype, device=data.device)
        torch.index_select(data, 0, index, out=self._gathered)
        self.v_data.copy_(self._gathered)

    @torch.no_grad()
    def init_chains(self, v: torch.Tensor, generator: torch.Generator) -> None:
        """Start the persistent chains from hidden samples of the visible batch ``v`` (B, n_visible)."""
        m = self.model
        self.chains = torch.zeros(self.batch_size, m.n_hidden, dtype=m.dtype, device=m.device)
        self.chains.copy_(m.hidden_bias).addmm_(v, m.weight)
        self._mean_(self.chains)
        self._sample_(self.chains, "h", self.chains, generator)

    # ------------------------------------------------------------------ one update's statistics
    @torch.no_grad()
    def run(self, generator: torch.Generator) -> None:
        """Fill ``v`` and ``h`` from ``v_data`` with k Gibbs steps (CD: from the data; PCD: from the chains)."""
        m = self.model
        w, b, c = m.weight, m.visible_bias, m.hidden_bias
        wt = w.t()
        # out.copy_(bias).addmm_(x, w) measured faster than addmm(bias, x, w, out=out) on CPU, same result.
        self.h_data.copy_(c).addmm_(self.v_data, w)
        self._mean_(self.h_data)
        if self.persistent:
            if self.chains is None:
                raise RuntimeError("persistent CDKernel: call init_chains(v, generator) first")
            hs = self.chains
        else:
            hs = self.h_sample
            self._sample_(self.h_data, "h", hs, generator)
        vm, hm = self.v_model, self.h_model_neg
        for step in range(self.k):
            vm.copy_(b).addmm_(hs, wt)
            self._mean_(vm)
            self._sample_(vm, "v", vm, generator)
            if step < self.k - 1:
                hm.copy_(c).addmm_(vm, w)
                self._mean_(hm)
                self._sample_(hm, "h", hs, generator)
        # hm ← -E[h | v_model]; for spins fold the sign into the GEMM (tanh(-x) = -tanh(x)).
        if m.units == "spin":
            hm.copy_(c).addmm_(vm, w, beta=-1.0, alpha=-1.0).tanh_()
        else:
            hm.copy_(c).addmm_(vm, w).sigmoid_().neg_()
        if self.persistent:
            # chains ← on where u < E[h|v_model] = -hm  ⇔  -u > hm  (negation is exact).
            fill_uniform_(self.u_h, m.low, generator, self._uniform["h"][1]).neg_()
            torch.gt(self.u_h, hm, out=hs)
            if m.units == "spin":
                hs.mul_(2.0).sub_(1.0)

    def gradient(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(dW, db, dc): the CD estimate of ∂ mean log p(v_data) / ∂(W, b, c) from the last :meth:`run`."""
        n = self.batch_size
        return self.v.t() @ self.h / n, self.v.t() @ self.sign / n, self.h.t() @ self.ones / n
