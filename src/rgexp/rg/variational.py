"""Mehta & Schwab's variational-RG ↔ RBM mapping, exactly, on the 1D Ising chain.

Visible chain v of N spins with H(v) = −Σ_bonds K_b v_i v_j − Σ_i h_i v_i (open: bonds (i, i+1);
periodic: also (N−1, 0)). Hidden spins h_j, j = 0..M−1, M = ⌈N/2⌉, one per even site.

**The decimation operator.** T_λ(v, h) = Σ_j [λ h_j v_{2j} − ln(2 cosh λ)], λ ≥ 0. Since
Σ_{h_j} e^{λ h_j v_{2j}} = 2 cosh λ, Tr_h e^{T_λ(v,h)} = 1 for every v and λ (the exact-RG
condition), so the joint p_λ(v, h) ∝ e^{T_λ(v,h) − H(v)} (energy H(v) − T_λ: an "RBM" with
visible–visible couplings) keeps p(v) as its visible marginal, and its hidden marginal is

    p_λ(h) = Σ_v p(v) Π_j (1 + tanh λ · h_j v_{2j}) / 2,

i.e. h is the decimated chain u_j = v_{2j} seen through a binary symmetric channel that flips each
spin with probability 1 / (1 + e^{2λ}). What holds exactly (derived here, checked in the tests):

* λ = ∞: h = u, which is an Ising chain with tanh K' = tanh² K (plus the field recursion of
  :func:`~rgexp.rg.chain1d.decimation_step`): open chains for any N, periodic chains for even N
  (M = N/2). This is decimation.
* finite λ: ⟨h_j h_{j+r}⟩ = tanh²λ ⟨u_j u_{j+r}⟩ for r ≥ 1, so on the open chain
  ⟨h_j h_{j+r}⟩ = tanh²λ (tanh² K)^r and the nearest-neighbour correlation is that of a coupling
  tanh K'(λ) = tanh²λ tanh² K (:func:`renormalized_coupling`). But p_λ(h) is *not* a
  nearest-neighbour Ising chain for M ≥ 3 (an Ising chain at K' would need ⟨h_0 h_2⟩ =
  tanh² K', not tanh²λ tanh⁴ K): a noisy copy of a Markov chain is a hidden Markov model, whose
  Hamiltonian −ln p_λ(h) has couplings at every range (:func:`chain_hamiltonian` reads them).
  Only M ≤ 2 (open) is exactly a chain at K'(λ) for every λ.

**The chain RBM.** An RBM with spin units and no visible–visible couplings whose visible marginal is
exactly the chain: one hidden unit per bond (i, j), weights w to v_i and sign(K) w to v_j with
w = ½ arccosh(e^{2|K|}). Then Σ_h e^{w h (v_i ± v_j)} = 2 cosh(w (v_i ± v_j)) = 2 e^{|K|} e^{K v_i v_j}
(2 cosh 2w = 2 e^{2|K|} when the spins agree (K ≥ 0), 2 otherwise), so Z_RBM = (2 e^{|K|})^{n_bonds} Z.
The field is the visible bias.

Laws over n spins are arrays (2^n,) in :func:`rgexp.models.enumerate_states` order: bit i of the
index is unit i, bit 0 ↔ spin −1. Everything is exact enumeration or a tensor contraction over
these arrays (cost O(n 2^n)); nothing here samples, prints or logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rgexp.models.rbm import RBM
from rgexp.rg.chain1d import decimation_step

__all__ = [
    "MAX_CHAIN_SPINS",
    "decimation_operator",
    "chain_distribution",
    "hidden_marginal",
    "hidden_correlation_exact",
    "renormalized_coupling",
    "walsh_coefficients",
    "ChainHamiltonian",
    "chain_hamiltonian",
    "kl_divergence",
    "chain_rbm_weight",
    "chain_rbm",
    "DecimationFlow",
    "decimation_stack_flow",
]

#: Exact laws are arrays of 2^n probabilities; refused beyond this many spins (8 MiB at n = 20).
MAX_CHAIN_SPINS = 20


# ---------------------------------------------------------------------------- checks and helpers
def _check_lam(lam: float) -> float:
    lam = float(lam)
    if not lam >= 0.0:  # also rejects nan
        raise ValueError(f"lam must be >= 0 (np.inf for decimation), got {lam!r}")
    return lam


def _check_n(name: str, n, low: int = 2) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not low <= n <= MAX_CHAIN_SPINS:
        raise ValueError(f"{name} must be an int in [{low}, {MAX_CHAIN_SPINS}], got {n!r}")
    return int(n)


def _spin_states(n: int) -> np.ndarray:
    """All 2^n states (2^n, n) of ±1 floats in enumerate_states order."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return 2.0 * bits - 1.0


def _bonds(n: int, periodic: bool) -> np.ndarray:
    """(n_bonds, 2) site pairs: (i, i+1), and (n−1, 0) when periodic (for n = 2 the same pair twice)."""
    i = np.arange(n if periodic else n - 1)
    return np.stack([i, (i + 1) % n], axis=1)


def _per_item(x, n: int, name: str) -> np.ndarray:
    """A scalar or an (n,) array as a finite float (n,) array."""
    a = np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)) if np.ndim(x) == 0 else np.asarray(x, float)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite scalar or an array of shape ({n},), got {x!r}")
    return a


def _log1p_exp_neg2(lam: float) -> float:
    """ln(1 + e^{−2λ}), = 0 at λ = ∞."""
    return float(np.log1p(np.exp(-2.0 * lam)))


def _as_tensor(p: np.ndarray) -> tuple[np.ndarray, int]:
    """A law (2^n,) as a tensor (2,)*n whose axis i is unit i (index 0 ↔ −1)."""
    p = np.asarray(p, dtype=np.float64)
    n = int(round(np.log2(p.size))) if p.ndim == 1 and p.size >= 2 else -1
    if n < 1 or p.size != 2**n:
        raise ValueError(f"p must be a law over 2^n states, shape (2^n,), got shape {p.shape}")
    _check_n("log2(p.size)", n, low=1)
    return p.reshape((2,) * n).transpose(tuple(range(n - 1, -1, -1))), n  # C order: last axis = bit 0


def _as_flat(t: np.ndarray) -> np.ndarray:
    return t.transpose(tuple(range(t.ndim - 1, -1, -1))).reshape(-1)


# ---------------------------------------------------------------------------- operator and laws
def decimation_operator(v: np.ndarray, h: np.ndarray, lam: float) -> np.ndarray:
    """T_λ(v, h) = Σ_j [λ h_j v_{2j} − ln(2 cosh λ)] per sample.

    v: (n, N) ±1; h: (n, ⌈N/2⌉) ±1 → (n,). Written as λ(h v − 1) − ln(1 + e^{−2λ}) per term so
    that no cosh overflows; at λ = ∞ it is 0 where every h_j = v_{2j} and −∞ elsewhere.
    """
    lam = _check_lam(lam)
    v, h = np.atleast_2d(np.asarray(v, float)), np.atleast_2d(np.asarray(h, float))
    if h.shape != (v.shape[0], (v.shape[1] + 1) // 2):
        raise ValueError(f"h must have shape (n, ceil(N/2)) = {(v.shape[0], (v.shape[1] + 1) // 2)}, "
                         f"got {h.shape}")
    agree = h * v[:, 0::2] > 0
    per = np.where(agree, 0.0, -2.0 * lam) - _log1p_exp_neg2(lam)
    return per.sum(axis=1)


def chain_distribution(N: int, K, h=0.0, *, periodic: bool = True) -> np.ndarray:
    """p(v) ∝ exp(Σ_bonds K_b v_i v_j + Σ_i h_i v_i) over all 2^N states, shape (2^N,).

    K: a scalar or one coupling per bond (N bonds periodic, N − 1 open); h: a scalar or (N,).
    """
    N = _check_n("N", N)
    bonds = _bonds(N, periodic)
    Kb, hi = _per_item(K, len(bonds), "K"), _per_item(h, N, "h")
    s = _spin_states(N)
    logw = (s[:, bonds[:, 0]] * s[:, bonds[:, 1]]) @ Kb + s @ hi
    w = np.exp(logw - logw.max())
    return w / w.sum()


def hidden_marginal(p: np.ndarray, lam: float) -> np.ndarray:
    """p_λ(h) = Σ_v p(v) e^{T_λ(v, h)} for a visible law p (2^N,); returns (2^⌈N/2⌉,).

    Summing out the odd spins, then sending each kept spin through the channel
    Q(h | u) = e^{λ h u} / (2 cosh λ) = (1 + tanh λ · h u) / 2; exact for any law p.
    """
    lam = _check_lam(lam)
    t, n = _as_tensor(p)
    if n < 2:
        raise ValueError(f"p must be a law over at least 2 spins, got {n}")
    t = t.sum(axis=tuple(range(1, n, 2)))  # axis j ↔ u_j = v_{2j}
    flip = float(np.exp(-2.0 * lam - _log1p_exp_neg2(lam)))  # 1 / (1 + e^{2λ})
    Q = np.array([[1.0 - flip, flip], [flip, 1.0 - flip]])  # Q[h, u], index 0 ↔ −1
    for j in range(t.ndim):
        t = np.moveaxis(np.tensordot(Q, t, axes=([1], [j])), 0, j)
    return _as_flat(t)


def hidden_correlation_exact(N: int, K: float, lam: float, r, *, periodic: bool = True) -> np.ndarray:
    """⟨h_0 h_r⟩ of p_λ(h) for the zero-field chain at K, 1 <= r (closed form; see module doc).

    Open: tanh²λ · t^r with t = tanh² K. Periodic (N even, M = N/2, r <= M): tanh²λ ·
    (t^r + t^{M−r}) / (1 + t^M), the periodic correlation of the decimated chain.
    """
    N, lam = _check_n("N", N), _check_lam(lam)
    if periodic and N % 2:
        raise ValueError(f"N must be even for a periodic chain (decimation keeps N/2 spins), got {N}")
    M = (N + 1) // 2
    r = np.asarray(r)
    if np.any(r < 1) or np.any(r > M - (0 if periodic else 1)):
        raise ValueError(f"r must be in [1, {M - (0 if periodic else 1)}], got {r}")
    t, a = np.tanh(K) ** 2, np.tanh(lam) ** 2
    if periodic:
        return a * (t**r + t ** (M - r)) / (1.0 + t**M)
    return a * t ** r.astype(np.float64)


def _sech2(y) -> np.ndarray:
    """1 / cosh² y = exp(−2 ln cosh y), with ln cosh y = |y| + ln(1 + e^{−2|y|}) − ln 2 (no overflow)."""
    ay = np.abs(np.asarray(y, dtype=np.float64))
    return np.exp(-2.0 * (ay + np.log1p(np.exp(-2.0 * ay)) - np.log(2.0)))


def renormalized_coupling(K, lam: float) -> np.ndarray:
    """K'(λ) = atanh(tanh²λ · tanh² K): the coupling whose nearest-neighbour correlation the hidden
    chain has (exact on the open chain); at λ = ∞ it is decimation_step(K) = ½ ln cosh 2K.

    Evaluated as ½ ln[(1 + x) / (1 − x)] with 1 − x = sech²λ + tanh²λ sech²K, so large K is safe.
    """
    lam = _check_lam(lam)
    K = np.asarray(K, dtype=np.float64)
    if np.isinf(lam):
        return decimation_step(K)[0]
    one_minus = _sech2(lam) + np.tanh(lam) ** 2 * _sech2(K)
    return 0.5 * np.log((2.0 - one_minus) / one_minus)


# ---------------------------------------------------------------------------- reading a law back
def walsh_coefficients(log_p: np.ndarray) -> np.ndarray:
    """a_S with ln p(s) = Σ_S a_S Π_{i∈S} s_i, from log-probabilities (2^n,); returns (2^n,) indexed
    by the bit mask of S (bit i ↔ i ∈ S; a_∅ = mean ln p). Fast Walsh–Hadamard transform, O(n 2^n)."""
    t, n = _as_tensor(log_p)
    for axis in range(n):
        lo, hi = np.take(t, 0, axis=axis), np.take(t, 1, axis=axis)  # s_i = −1, +1
        t = np.stack([(lo + hi) / 2.0, (hi - lo) / 2.0], axis=axis)
    return _as_flat(t)


@dataclass(frozen=True, eq=False)
class ChainHamiltonian:
    """The couplings of −ln p on a chain of n spins: ``couplings`` (n_bonds,) on the bonds of
    :func:`chain_distribution`'s order, ``fields`` (n,), and ``residual`` = max |a_S| over every
    other non-empty S (0 exactly when p is a nearest-neighbour Ising chain)."""

    couplings: np.ndarray
    fields: np.ndarray
    residual: float


def chain_hamiltonian(p: np.ndarray, *, periodic: bool = True) -> ChainHamiltonian:
    """Read (K_b, h_i) and the non-chain residual off a strictly positive law p (2^n,), n >= 2.

    For periodic n = 2 the two bonds are the same pair, so each carries half of a_{01}.
    """
    p = np.asarray(p, dtype=np.float64)
    if not np.all(p > 0):
        raise ValueError("p must be strictly positive to read its Hamiltonian (ln p)")
    a = walsh_coefficients(np.log(p))
    n = int(round(np.log2(a.size)))
    if n < 2:
        raise ValueError(f"p must be a law over at least 2 spins, got {n}")
    bonds = _bonds(n, periodic)
    masks = (1 << bonds[:, 0]) | (1 << bonds[:, 1])
    couplings = a[masks] / (2.0 if periodic and n == 2 else 1.0)
    fields = a[1 << np.arange(n)]
    rest = np.ones(a.size, dtype=bool)
    rest[0], rest[masks], rest[1 << np.arange(n)] = False, False, False
    return ChainHamiltonian(couplings, fields, float(np.abs(a[rest]).max(initial=0.0)))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) = Σ p ln(p / q) over matching state arrays (terms with p = 0 are 0)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    m = p > 0
    return float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))


# ---------------------------------------------------------------------------- the chain RBM
def chain_rbm_weight(K) -> np.ndarray:
    """w = ½ arccosh(e^{2|K|}) (elementwise), as ½ [2|K| + ln(1 + sqrt(1 − e^{−4|K|}))] so no exp overflows."""
    x = 2.0 * np.abs(np.asarray(K, dtype=np.float64))
    return 0.5 * (x + np.log1p(np.sqrt(-np.expm1(-2.0 * x))))


def chain_rbm(N: int, K, h=0.0, *, periodic: bool = True, dtype: torch.dtype = torch.float64) -> RBM:
    """An RBM (spin units, N visible, one hidden unit per bond, no hidden bias) whose visible marginal
    is exactly :func:`chain_distribution` (N, K, h, periodic); K per bond or scalar, h per site or scalar.

    Hidden unit b couples to the bond's sites (i, j) with weights (w_b, sign(K_b) w_b),
    w_b = ½ arccosh(e^{2|K_b|}); visible bias = h. log Z_RBM = log Z_chain + Σ_b (ln 2 + |K_b|).
    """
    N = _check_n("N", N)
    bonds = _bonds(N, periodic)
    Kb, hi = _per_item(K, len(bonds), "K"), _per_item(h, N, "h")
    W = np.zeros((N, len(bonds)))
    cols = np.arange(len(bonds))
    w = chain_rbm_weight(Kb)
    np.add.at(W, (bonds[:, 0], cols), w)  # add.at: periodic N = 2 puts both ends of a bond on one pair
    np.add.at(W, (bonds[:, 1], cols), np.where(Kb < 0, -w, w))
    rbm = RBM(N, len(bonds), units="spin", biases=True, init_std=0.0, dtype=dtype)
    with torch.no_grad():
        rbm.weight.copy_(torch.from_numpy(W))
        rbm.visible_bias.copy_(torch.from_numpy(np.array(hi)))
    return rbm


# ---------------------------------------------------------------------------- the deep version
@dataclass(frozen=True, eq=False)
class DecimationFlow:
    """Layer k = 0..n_steps of "chain RBM + decimation operator" stacked k times, all exact.

    ``sizes`` (n_steps+1,) chain lengths; ``K``/``h`` (n_steps+1,) mean coupling and field read
    off the exact law of layer k (:func:`chain_hamiltonian`); ``residual`` its non-chain
    couplings; ``kl_rbm`` KL(law of layer k ‖ chain RBM at layer k's couplings and fields) — both
    0 to rounding at λ = ∞; ``levels`` the per-bond/per-site readouts.
    """

    sizes: np.ndarray
    K: np.ndarray
    h: np.ndarray
    residual: np.ndarray
    kl_rbm: np.ndarray
    levels: tuple[ChainHamiltonian, ...]


def _rbm_law(rbm: RBM) -> np.ndarray:
    return rbm.visible_distribution_exact().cpu().numpy().astype(np.float64)


def decimation_stack_flow(
    N: int, K: float, n_steps: int, *, h: float = 0.0, periodic: bool = True, lam: float = np.inf,
) -> DecimationFlow:
    """Start from the chain RBM's exact visible law (N spins, K, h); apply the decimation operator
    T_λ ``n_steps`` times to the exact laws; read the couplings of each layer and rebuild the chain
    RBM there. At λ = ∞ this reproduces :func:`~rgexp.rg.chain1d.coupling_flow` (K, h → K*, h*).

    Periodic chains need N divisible by 2^n_steps; every layer must keep at least 2 spins.
    """
    N, lam = _check_n("N", N), _check_lam(lam)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be an int >= 0, got {n_steps!r}")
    sizes = [N]
    for _ in range(n_steps):
        if periodic and sizes[-1] % 2:
            raise ValueError(f"N must be divisible by 2^n_steps = {2**n_steps} for a periodic chain, got {N}")
        sizes.append((sizes[-1] + 1) // 2)
    if sizes[-1] < 2:
        raise ValueError(f"n_steps={n_steps} leaves {sizes[-1]} spin(s) of N={N}; every layer needs >= 2")
    p = _rbm_law(chain_rbm(N, K, h, periodic=periodic))
    levels, kls = [], []
    for k in range(n_steps + 1):
        if k:
            p = hidden_marginal(p, lam)
        ham = chain_hamiltonian(p, periodic=periodic)
        levels.append(ham)
        kls.append(kl_divergence(p, _rbm_law(chain_rbm(sizes[k], ham.couplings, ham.fields, periodic=periodic))))
    return DecimationFlow(
        sizes=np.array(sizes), K=np.array([lv.couplings.mean() for lv in levels]),
        h=np.array([lv.fields.mean() for lv in levels]), residual=np.array([lv.residual for lv in levels]),
        kl_rbm=np.array(kls), levels=tuple(levels),
    )
