"""Exact sampling of the 1D Ising chain, open or periodic, with coupling J and field h.

Energy (k_B = 1):  E(s) = −J Σ_bonds s_i s_{i+1} − h Σ_i s_i,   P(s) ∝ exp(−E(s)/T).

The open chain has the N−1 bonds (i, i+1); the periodic chain adds the bond (N−1, 0) (for N = 2
that is a second bond between the same two spins; for N = 1 a self-bond, a constant).

Sampling is exact: with the symmetric transfer matrix τ(a, b) = exp(K a b + H (a + b)/2),
K = J/T, H = h/T, the Boltzmann weight is a product of τ's, so the chain is a Markov chain
in the site index. Periodic: draw s_0 from P(s_0) ∝ (τ^N)_{s_0 s_0}, then

    P(s_{i+1} = b | s_i = a, s_0) = τ(a, b) (τ^{N−i−1})_{b, s_0} / (τ^{N−i})_{a, s_0};

open: the same with the column (τ^k)_{·, s_0} replaced by τ^k u, u(s) = exp(H s / 2). All powers
are done in log space, so any T > 0 and any |J|, |h| are safe. Every sample is independent: there
is no autocorrelation, no thermalization and no Metropolis ergodicity trap (see TRAPS.md).

Public functions return int8 ±1 arrays of shape (n_samples, N). ``Chain1DSampler`` is the
config-group ``sampler`` class (``conf/sampler/chain1d.yaml``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from rgexp.ising.data import IsingData
from rgexp.seeding import as_seed_sequence, numpy_generator, temperature_streams

__all__ = [
    "sample_ising1d",
    "correlation_exact",
    "energy_exact",
    "log_partition_exact",
    "Chain1DSampler",
]


def _check_chain_args(N: int, T: float, J: float, h: float) -> None:
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool) or N < 1:
        raise ValueError(f"N must be an int >= 1, got {N!r}")
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"T must be finite and > 0, got {T!r}")
    if not math.isfinite(J):
        raise ValueError(f"J must be finite, got {J!r}")
    if not math.isfinite(h):
        raise ValueError(f"h must be finite, got {h!r}")


def _log_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(exp(a) @ exp(b)) for (2, 2) @ (2, k) log-space matrices."""
    return np.logaddexp(a[:, 0, None] + b[0, None, :], a[:, 1, None] + b[1, None, :])


def _log_transfer(K: float, H: float) -> np.ndarray:
    """log τ, index 0 ↔ s = +1, index 1 ↔ s = −1."""
    s = np.array([1.0, -1.0])
    return K * np.outer(s, s) + 0.5 * H * (s[:, None] + s[None, :])


def _log_tails(N: int, K: float, H: float, periodic: bool) -> np.ndarray:
    """tails[k] = log of the weight of k remaining bonds, shape (N, 2, 2) = (k, s, boundary).

    Periodic: tails[k][b, c] = log (τ^k)_{b c}, c the state of s_0. Open: the boundary vector
    u is used for both columns (the boundary does not depend on s_0), tails[k][b, :] = log(τ^k u)_b.
    """
    lt = _log_transfer(K, H)
    tails = np.empty((N, 2, 2))
    if periodic:
        tails[0] = np.where(np.eye(2, dtype=bool), 0.0, -np.inf)
    else:
        u = 0.5 * H * np.array([1.0, -1.0])
        tails[0] = np.stack([u, u], axis=1)
    for k in range(1, N):
        tails[k] = _log_matmul(lt, tails[k - 1])
    return tails


def _sigmoid_prob(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """a / (a + b) from log a, log b, safe at ±inf."""
    with np.errstate(invalid="ignore"):
        d = log_b - log_a
    d = np.where(np.isnan(d), 0.0, d)
    return 0.5 * (1.0 - np.tanh(0.5 * d))  # = 1 / (1 + exp(d)) without overflow


def sample_ising1d(
    N: int,
    T: float,
    n_samples: int,
    *,
    seed: int | np.random.SeedSequence = 0,
    periodic: bool = True,
    J: float = 1.0,
    h: float = 0.0,
) -> np.ndarray:
    """Independent exact samples of the 1D Ising chain; int8 ±1, shape (n_samples, N)."""
    _check_chain_args(N, T, J, h)
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise ValueError(f"n_samples must be an int >= 0, got {n_samples!r}")
    rng = numpy_generator(as_seed_sequence(seed))
    K, H = J / T, h / T
    lt = _log_transfer(K, H)
    tails = _log_tails(N, K, H, periodic)
    out = np.empty((n_samples, N), dtype=np.int8)
    # First spin. Periodic: weight (τ^N)_{s s}; open: u(s) (τ^{N-1} u)(s).
    if periodic:
        full = _log_matmul(lt, tails[N - 1])
        log_w0 = np.diag(full)
    else:
        log_w0 = 0.5 * H * np.array([1.0, -1.0]) + tails[N - 1][:, 0]
    p_up = _sigmoid_prob(log_w0[0], log_w0[1])
    idx = (rng.random(n_samples) >= p_up).astype(np.intp)  # 0 ↔ +1, 1 ↔ −1
    first = idx.copy()
    out[:, 0] = 1 - 2 * idx
    off = 1 if periodic else 0  # periodic: the closing bond (N-1, 0) is one more τ factor
    for i in range(N - 1):
        tail = tails[N - 2 - i + off]  # weight of everything after s_{i+1}
        # log weight of s_{i+1} = b given s_i = a and boundary column c: lt[a, b] + tail[b, c]
        log_w = lt[:, :, None] + tail[None, :, :]  # (a, b, c)
        p = _sigmoid_prob(log_w[:, 0, :], log_w[:, 1, :])  # (a, c)
        idx = (rng.random(n_samples) >= p[idx, first]).astype(np.intp)
        out[:, i + 1] = 1 - 2 * idx
    return out


def log_partition_exact(N: int, T: float, *, periodic: bool = True, J: float = 1.0, h: float = 0.0) -> float:
    """log Z of the chain from the transfer matrix (any N >= 1, any field)."""
    _check_chain_args(N, T, J, h)
    K, H = J / T, h / T
    lt = _log_transfer(K, H)
    tails = _log_tails(N, K, H, periodic)
    if periodic:
        return float(np.logaddexp.reduce(np.diag(_log_matmul(lt, tails[N - 1]))))
    u = 0.5 * H * np.array([1.0, -1.0])
    return float(np.logaddexp.reduce(u + tails[N - 1][:, 0]))


def correlation_exact(N: int, T: float, r: int | np.ndarray, *, periodic: bool = True, J: float = 1.0) -> np.ndarray:
    """⟨s_i s_{i+r}⟩ at h = 0, t = tanh(J/T).

    Periodic: (t^r + t^(N−r)) / (1 + t^N), 0 <= r <= N. Open: t^r (any position i, i + r < N).
    """
    _check_chain_args(N, T, J, 0.0)
    r = np.asarray(r)
    if np.any(r < 0) or np.any(r > N):
        raise ValueError(f"r must be in [0, N={N}], got {r}")
    t = math.tanh(J / T)
    if periodic:
        return (t ** r + t ** (N - r)) / (1.0 + t ** N)
    return t ** r.astype(np.float64)


def energy_exact(N: int, T: float, *, periodic: bool = True, J: float = 1.0) -> float:
    """⟨E⟩ / N at h = 0: −J (number of bonds) ⟨s_0 s_1⟩ / N."""
    _check_chain_args(N, T, J, 0.0)
    if periodic:
        return float(-J * correlation_exact(N, T, 1, periodic=True, J=J))
    return float(-J * (N - 1) / N * math.tanh(J / T))


class Chain1DSampler:
    """Config group ``sampler``: exact 1D chains on a temperature grid.

    ``sample(seed)`` gives IsingData with spins (n_T, n_samples, N); every sample is independent,
    so ``info`` reports tau_int = 0.5 and n_eff = n_samples exactly (nothing is measured).
    """

    def __init__(
        self,
        N: int,
        temperatures: list[float],
        n_samples: int,
        periodic: bool = True,
        J: float = 1.0,
        h: float = 0.0,
    ) -> None:
        if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
            raise ValueError(f"N must be an int >= 1, got {N!r}")
        _check_temperatures(temperatures)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
        if not math.isfinite(J):
            raise ValueError(f"J must be finite, got {J!r}")
        if not math.isfinite(h):
            raise ValueError(f"h must be finite, got {h!r}")
        self.N = int(N)
        self.temperatures = [float(t) for t in temperatures]
        self.n_samples = int(n_samples)
        self.periodic = bool(periodic)
        self.J = float(J)
        self.h = float(h)

    @property
    def lattice_shape(self) -> tuple[int]:
        return (self.N,)

    def sample(self, seed: np.random.SeedSequence, progress: bool = False) -> IsingData:
        """Spins (n_T, n_samples, N); one stream of ``seed`` per temperature, keyed by its value."""
        streams = temperature_streams(as_seed_sequence(seed), self.temperatures)
        spins = np.empty((len(self.temperatures), self.n_samples, self.N), dtype=np.int8)
        info = []
        for k in tqdm(range(len(self.temperatures)), disable=not progress, desc="chain1d"):
            spins[k] = sample_ising1d(
                self.N, self.temperatures[k], self.n_samples, seed=streams[k],
                periodic=self.periodic, J=self.J, h=self.h,
            )
            info.append({"tau_int_absm": 0.5, "tau_int_energy": 0.5, "n_eff": float(self.n_samples),
                         "thin": 1, "n_thermalize": 0})
        return IsingData(spins=spins, temperatures=np.array(self.temperatures), info=info)


def _check_temperatures(temperatures: Sequence[float]) -> None:
    """Shared by the samplers in this module and long_range: non-empty, finite, > 0."""
    try:
        ts = [float(t) for t in temperatures]
    except (TypeError, ValueError):
        raise ValueError(f"temperatures must be a list of numbers, got {temperatures!r}") from None
    if not ts or not all(math.isfinite(t) and t > 0 for t in ts):
        raise ValueError(f"temperatures must all be finite and > 0 (and at least one), got {list(temperatures)!r}")
