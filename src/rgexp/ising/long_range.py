"""Long-range Ising model on a periodic lattice: samplers, energy, Binder scan.

    H = −Σ_{i<j} J_ij s_i s_j,   J_ij = J · K(r_j − r_i),   k_B = 1,

on a chain of L sites (d = 1) or an L × L torus (d = 2), with 0 < σ <= 2. K comes in two
conventions, ``couplings="images"`` (the full periodic image sum Σ_n |r + nL|^−(d+σ), default)
and ``"minimum_image"`` (|r̃|^−(d+σ), r̃ the per-axis minimum image): see
:mod:`rgexp.ising.long_range_couplings` (``coupling_table``, re-exported here). They agree in the
thermodynamic limit, not at finite L: compare T_c with a source only in the source's convention.

Samplers (kernels in ``long_range_kernels.py``): ``"cluster"``, Wolff clusters with Fukui–Todo
O(1)-per-bond Poisson/alias bond sampling (O(N) per sweep; ``benchmarks/bench_long_range.py``
shows the curve); ``"metropolis"``, single-spin Metropolis at random sites with exact local fields
updated in O(N) per accepted flip (O(N²) per sweep), the fallback. A *sweep* is N attempts for
Metropolis and, for clusters, the number of cluster flips that flips N spins on average.
Protocol per temperature: hot start, burn-in, a pilot run measuring τ_int of |m| and E (in sweeps,
``rgexp.stats``), burn-in extended to >= 20 τ_int when ``n_thermalize`` is None, thinning by
ceil(2 τ_int) sweeps when ``thin`` is None, and a random global flip before each stored sample
(exact symmetry at h = 0: both magnetisation signs appear below T_c).

Observables: ``energy`` (FFT convolution, O(N log N) per configuration; magnetisation and the
Binder cumulant are the lattice-agnostic ones of ``rgexp.ising.observables``) and ``binder_scan``
(U_L(T) over sizes × temperatures, crossings and T_c via ``rgexp.ising.binder``, a quick look).
For T_c from reweighted crossings with its error, and Δ_σ, Δ_ε by finite-size scaling, see
``rgexp.ising.long_range_fss`` (measured T_c and exponents there and in docs/findings.md).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from rgexp.ising.binder import binder_crossings, find_tc_binder
from rgexp.ising.chain1d import _check_temperatures
from rgexp.ising.data import IsingData
from rgexp.ising.long_range_couplings import (
    COUPLINGS,
    Couplings,
    _is_int,
    coupling_table,
)
from rgexp.ising.long_range_couplings import check_model as _check_model
from rgexp.ising.long_range_kernels import (
    build_alias,
    local_fields,
    metropolis_sweeps,
    run_cluster_chain,
    run_metropolis_chain,
    wolff_updates,
)
from rgexp.ising.observables import binder_cumulant, magnetization
from rgexp.seeding import as_seed_sequence, numpy_generator, temperature_streams
from rgexp.stats import integrated_autocorr_time

__all__ = [
    "COUPLINGS",
    "Couplings",
    "coupling_table",
    "energy",
    "sample_long_range",
    "sample_long_range_with_info",
    "binder_scan",
    "LongRangeSampler",
]

Algorithm = Literal["cluster", "metropolis"]
_BURN_IN = {"cluster": 100, "metropolis": 200}  # sweeps before the pilot run
_PILOT = 200  # sweeps in the first pilot run; doubled (up to 4 times) until it spans 50 τ_int
_MIN_CLUSTER_BURN_IN = 10  # sweeps that calibrate clusters per sweep, even if n_thermalize < 10


# --------------------------------------------------------------------------- observables


def energy(configs: np.ndarray, table: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Total energy −½ Σ_i s_i h_i of each configuration, h = table ⊛ s by FFT; (n, *lattice) -> (n,).

    ``table`` is a ``coupling_table`` (shape = lattice). K is even in r, so the circular
    convolution equals the field Σ_j K(r_j − r_i) s_j.
    """
    x = np.asarray(configs)
    lattice = table.shape
    if x.shape[1:] != lattice:
        raise ValueError(f"configs must have shape (n, {lattice}), got {x.shape}")
    axes = tuple(range(1, 1 + len(lattice)))
    ft = np.fft.rfftn(table)
    out = np.empty(x.shape[0])
    for a in range(0, x.shape[0], chunk):
        s = x[a : a + chunk].astype(np.float64)
        h = np.fft.irfftn(np.fft.rfftn(s, axes=axes) * ft, s=lattice, axes=axes)
        out[a : a + chunk] = -0.5 * (s * h).sum(axis=axes)
    return out


def binder_scan(
    Ls: list[int],
    temperatures: list[float],
    sigma: float,
    n_samples: int,
    *,
    d: int = 2,
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    algorithm: Algorithm = "cluster",
    deg: int = 1,
    couplings: Couplings = "images",
) -> dict:
    """Binder cumulants U_L(T) on a grid of sizes × temperatures, and where they cross.

    Returns ``{"binder": {L: [Estimate per T]}, "crossings": {(L1, L2): Estimate}, "tc": Estimate}``
    (crossings of consecutive sizes and their mean, from :mod:`rgexp.ising.binder`, which raises
    if a pair does not cross inside the grid). Crossings drift towards T_c as L grows: compare
    the pairs before trusting ``tc``.
    """
    Ls = sorted(Ls)
    streams = as_seed_sequence(seed).spawn(len(Ls) * len(temperatures) + 1)
    binder = {
        L: [
            binder_cumulant(sample_long_range(
                L, T, sigma, n_samples, d=d, seed=streams[a * len(temperatures) + b], J=J, algorithm=algorithm,
                couplings=couplings,
            ))
            for b, T in enumerate(temperatures)
        ]
        for a, L in enumerate(Ls)
    }
    rng = numpy_generator(streams[-1])
    crossings = binder_crossings(temperatures, binder, rng=rng, deg=deg)
    tc = find_tc_binder(temperatures, binder, rng=rng, deg=deg)
    return {"binder": binder, "crossings": crossings, "tc": tc}


# --------------------------------------------------------------------------- sampling


def sample_long_range(
    L: int,
    T: float,
    sigma: float,
    n_samples: int,
    *,
    d: int = 2,
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    algorithm: Algorithm = "cluster",
    n_thermalize: int | None = None,
    thin: int | None = None,
    couplings: Couplings = "images",
) -> np.ndarray:
    """Equilibrated long-range Ising configurations, int8 ±1, shape (n_samples, L, L) or (n_samples, L).

    ``couplings``: "images" (periodic image sum) or "minimum_image" (module docstring).
    """
    spins, _ = sample_long_range_with_info(
        L, T, sigma, n_samples, d=d, seed=seed, J=J, algorithm=algorithm,
        n_thermalize=n_thermalize, thin=thin, couplings=couplings,
    )
    return spins


def sample_long_range_with_info(
    L: int,
    T: float,
    sigma: float,
    n_samples: int,
    *,
    d: int = 2,
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    algorithm: Algorithm = "cluster",
    n_thermalize: int | None = None,
    thin: int | None = None,
    couplings: Couplings = "images",
) -> tuple[np.ndarray, dict]:
    """As ``sample_long_range``, plus the MC diagnostics dict (plain floats/ints).

    Order of work: ``n_thermalize`` burn-in sweeps (None: 100 cluster / 200 Metropolis; clusters
    at least 10), a pilot run of >= 200 sweeps measuring τ_int, extra burn-in up to 20 τ_int when
    ``n_thermalize`` is None, then ``n_samples`` stored states ``thin`` sweeps apart (None:
    ceil(2 τ_int)). Diagnostics:

    tau_int_absm, tau_int_energy: of the stored samples (units: stored samples);
    tau_int_absm_sweeps, tau_int_energy_sweeps: from the pilot run (units: sweeps);
    n_eff = n_samples / (2 max τ); thin, n_thermalize (sweeps done before production, pilot
    included); pilot_sweeps; tau_reliable (1 if the pilot spans >= 50 τ); cluster only:
    updates_per_sweep, mean_cluster_size; Metropolis only: acceptance.
    """
    _check_model(L, d, sigma, J, couplings)
    _check_run(T, n_samples, algorithm, n_thermalize, thin)
    rng = numpy_generator(as_seed_sequence(seed))
    chain = _Chain(coupling_table(L, d, sigma, J, couplings=couplings), T, algorithm, rng)
    info: dict = {}
    n_burn = _BURN_IN[algorithm] if n_thermalize is None else n_thermalize
    # Clusters need a few sweeps in any case to calibrate the number of clusters per sweep.
    chain.advance(max(n_burn, _MIN_CLUSTER_BURN_IN) if algorithm == "cluster" else n_burn)
    pilot, n_pilot = None, _PILOT
    for _ in range(5):
        pilot = chain.record(n_pilot, 1)
        tau = max(_tau(np.abs(magnetization(pilot))), _tau(energy(pilot, chain.table)))
        if n_pilot >= 50 * tau:
            break
        n_pilot *= 2
    info["tau_int_absm_sweeps"] = _tau(np.abs(magnetization(pilot)))
    info["tau_int_energy_sweeps"] = _tau(energy(pilot, chain.table))
    info["pilot_sweeps"] = int(n_pilot)
    info["tau_reliable"] = int(n_pilot >= 50 * tau)
    if n_thermalize is None:
        chain.advance(max(0, math.ceil(20 * tau) - chain.sweeps_done))
    info["n_thermalize"] = int(chain.sweeps_done)
    thin = max(1, math.ceil(2 * tau)) if thin is None else int(thin)
    spins = chain.record(n_samples, thin)
    info["thin"] = int(thin)
    info.update(_stored_diagnostics(spins, chain.table))
    info.update(chain.stats())
    return spins, info


class _Chain:
    """One Markov chain at one temperature: state, kernel choice and bookkeeping (sweeps done)."""

    def __init__(self, table: np.ndarray, T: float, algorithm: str, rng: np.random.Generator) -> None:
        self.table, self.algorithm, self.rng = table, algorithm, rng
        self.Lx, self.Ly = (1, table.shape[0]) if table.ndim == 1 else table.shape
        self.n = self.Lx * self.Ly
        self.beta = 1.0 / T
        self.ktab = np.ascontiguousarray(table.ravel())
        self.spins = np.where(rng.random(self.n) < 0.5, 1, -1).astype(np.int8)
        self.sweeps_done = 0
        self.flipped = self.updates = self.accepted = self.attempts = 0
        if algorithm == "cluster":
            lam = 2.0 * self.beta * self.ktab
            self.rate = float(lam.sum())
            self.prob, self.alias = build_alias(lam)
            self.ups = 1  # cluster updates per sweep, re-estimated during burn-in
            self.stack = np.empty(self.n, dtype=np.int64)
        else:
            self.h = local_fields(self.spins, self.ktab, self.Lx, self.Ly)

    def advance(self, n_sweeps: int) -> None:
        """Burn-in of ``n_sweeps`` sweeps (for clusters: until n_sweeps · N spins have flipped,
        re-estimating the number of clusters per sweep from the mean cluster size)."""
        if self.algorithm == "metropolis":
            self.accepted += metropolis_sweeps(
                self.spins, self.h, self.ktab, self.Lx, self.Ly, self.beta, n_sweeps, self.rng
            )
            self.attempts += n_sweeps * self.n
        else:
            # One sweep's worth of clusters per call; the mean cluster size (hence clusters per
            # sweep) is re-estimated from the second half only, once the start is forgotten.
            target, done, flipped, updates = n_sweeps * self.n, 0, 0, 0
            while done < target:
                f = wolff_updates(
                    self.spins, self.Lx, self.Ly, self.prob, self.alias, self.rate, self.ups, self.rng, self.stack
                )
                done += f
                flipped, updates = (f, self.ups) if 2 * done < target else (flipped + f, updates + self.ups)
                self.ups = max(1, round(self.n * updates / flipped))
        self.sweeps_done += n_sweeps

    def record(self, n_store: int, sweeps_between: int) -> np.ndarray:
        """``n_store`` states ``sweeps_between`` sweeps apart, each after a random global flip;
        shape (n_store, *lattice)."""
        out = np.empty((n_store, self.n), dtype=np.int8)
        if self.algorithm == "metropolis":
            self.accepted += run_metropolis_chain(
                self.spins, self.h, self.ktab, self.Lx, self.Ly, self.beta, sweeps_between, self.rng, out
            )
            self.attempts += n_store * sweeps_between * self.n
        else:
            k = self.ups * sweeps_between
            flipped = run_cluster_chain(
                self.spins, self.Lx, self.Ly, self.prob, self.alias, self.rate, k, self.rng, out
            )
            self._count_clusters(flipped, n_store * k)
        self.sweeps_done += n_store * sweeps_between
        return out.reshape((n_store, *self.table.shape))

    def _count_clusters(self, flipped: int, updates: int) -> None:
        self.flipped += flipped
        self.updates += updates

    def stats(self) -> dict:
        if self.algorithm == "metropolis":
            return {"acceptance": self.accepted / max(1, self.attempts)}
        return {"updates_per_sweep": int(self.ups), "mean_cluster_size": self.flipped / max(1, self.updates)}


def _tau(x: np.ndarray) -> float:
    return integrated_autocorr_time(x) if x.size >= 2 else 0.5


def _stored_diagnostics(spins: np.ndarray, table: np.ndarray) -> dict:
    t_m = _tau(np.abs(magnetization(spins)))
    t_e = _tau(energy(spins, table))
    return {"tau_int_absm": t_m, "tau_int_energy": t_e, "n_eff": spins.shape[0] / (2.0 * max(t_m, t_e))}


# --------------------------------------------------------------------------- validation and config class


def _check_run(T: float, n_samples: int, algorithm: str, n_thermalize: int | None, thin: int | None) -> None:
    if not (isinstance(T, (int, float, np.floating)) and math.isfinite(T) and T > 0):
        raise ValueError(f"T must be finite and > 0, got {T!r}")
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
    if algorithm not in ("cluster", "metropolis"):
        raise ValueError(f"algorithm must be 'cluster' or 'metropolis', got {algorithm!r}")
    if n_thermalize is not None and (not _is_int(n_thermalize) or n_thermalize < 0):
        raise ValueError(f"n_thermalize must be None or an int >= 0, got {n_thermalize!r}")
    if thin is not None and (not _is_int(thin) or thin < 1):
        raise ValueError(f"thin must be None or an int >= 1, got {thin!r}")


class LongRangeSampler:
    """Config group ``sampler``: long-range Ising configurations on a temperature grid.

    ``sample(seed)`` gives IsingData with spins (n_T, n_samples, L, L) (d = 2) or
    (n_T, n_samples, L) (d = 1) and one diagnostics dict per temperature (see
    ``sample_long_range_with_info``). σ must be in (0, 2]: for σ <= 0 the couplings are not
    summable (no extensive energy, no finite cluster rate); σ > 2 is deep in the short-range
    class (the crossover is at σ = 7/4 in d = 2, and d = 1 has no transition for σ > 1), and a
    value above 2 is most often the exponent d + σ entered by mistake. ``couplings``: "images"
    (periodic image sum, default) or "minimum_image" (:mod:`rgexp.ising.long_range_couplings`).
    """

    def __init__(
        self,
        L: int,
        temperatures: list[float],
        n_samples: int,
        sigma: float,
        d: Literal[1, 2] = 2,
        J: float = 1.0,
        algorithm: Literal["cluster", "metropolis"] = "cluster",
        n_thermalize: int | None = None,
        thin: int | None = None,
        couplings: Literal["images", "minimum_image"] = "images",
    ) -> None:
        _check_model(L, d, sigma, J, couplings)
        _check_temperatures(temperatures)
        _check_run(1.0, n_samples, algorithm, n_thermalize, thin)
        self.L, self.d, self.sigma, self.J = int(L), int(d), float(sigma), float(J)
        self.temperatures = [float(t) for t in temperatures]
        self.n_samples = int(n_samples)
        self.algorithm = algorithm
        self.n_thermalize = n_thermalize
        self.thin = thin
        self.couplings = couplings

    def coupling_table(self, L: int | None = None) -> np.ndarray:
        """J · K(r) of this model on an L^d lattice (None: the sampler's L), shape (L,) * d: the
        energy −Σ_{i<j} J_ij s_i s_j of any lattice size (e.g. coarse-grained ones) in this convention."""
        return coupling_table(self.L if L is None else int(L), self.d, self.sigma, self.J, couplings=self.couplings)

    @property
    def lattice_shape(self) -> tuple[int, ...]:
        return (self.L,) * self.d

    def sample(self, seed: np.random.SeedSequence, progress: bool = False) -> IsingData:
        """Spins (n_T, n_samples, *lattice_shape); one stream of ``seed`` per temperature, keyed by its value."""
        streams = temperature_streams(as_seed_sequence(seed), self.temperatures)
        spins = np.empty((len(self.temperatures), self.n_samples, *self.lattice_shape), dtype=np.int8)
        info = []
        for k in tqdm(range(len(self.temperatures)), disable=not progress, desc="long_range"):
            spins[k], diag = sample_long_range_with_info(
                self.L, self.temperatures[k], self.sigma, self.n_samples, d=self.d, seed=streams[k],
                J=self.J, algorithm=self.algorithm, n_thermalize=self.n_thermalize, thin=self.thin,
                couplings=self.couplings,
            )
            info.append(diag)
        return IsingData(spins=spins, temperatures=np.array(self.temperatures), info=info)
