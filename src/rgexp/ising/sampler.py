"""Equilibrated, decorrelated samples of the 2D nearest-neighbour Ising model.

Per temperature (one Markov chain each, all advanced in parallel by :func:`run_chains`):

1. **Start**: ordered (all +1, or the Néel pattern for J < 0; aligned with h) below
   T_c(J) = 2|J| / ln(1 + √2), random above. An ordered start avoids the long-lived striped states
   that a quench traps Metropolis in.
2. **Burn-in**: ``n_thermalize`` sweeps, or :data:`BURN_IN` when ``n_thermalize`` is None.
3. **Pilot** (when ``n_thermalize`` or ``thin`` is None): record E and |m| every sweep for P sweeps,
   P = 500, 1000, 2000, … (the chain goes on, earlier pilots count as burn-in) until
   P >= 200 τ_max, τ_max = max(τ_int(|m|), τ_int(E)) in sweeps (Sokal window, via
   :func:`rgexp.stats.integrated_autocorr_time`), or P reaches :data:`MAX_PILOT` (then the
   info says ``tau_reliable = False``). So automatic thermalization discards >= 200 τ_max sweeps.
   Why 200: τ̂ from N sweeps has a relative error of about sqrt(20 τ / N) and is biased low on
   short runs; at 50 τ, Metropolis on 64×64 at T_c stopped with τ̂(|m|) ≈ 40 where a 2·10⁵-sweep
   run gives ≈ 400.
4. **Thinning rule**: ``thin = ceil(2 τ_max)`` sweeps when ``thin`` is None, so successive stored
   samples have a correlation of about e^-2 or less (τ_max = 1/2, uncorrelated, gives thin = 1).
5. **Production**: ``n_samples * thin`` sweeps, a copy every ``thin`` sweeps, each copy preceded
   (for h = 0) by a global flip s → −s with probability 1/2, so both magnetization signs appear
   below T_c. τ_int of |m| and E is measured again on the stored series and gives ``n_eff``.

A Wolff *sweep* is a fixed number of cluster flips, round(L² / ⟨|C|⟩), so a sweep flips L² spins
on average. ⟨|C|⟩ comes from the second half of the burn-in (in which a sweep is "clusters until
L² spins flipped"), or from 2 × :data:`PROBE` such sweeps on copies of the chains when the burn-in
is shorter, and is then re-measured on each pilot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, get_args

import numba
import numpy as np

from rgexp.checks import is_int, is_number
from rgexp.constants import T_C  # Onsager's T_c (J = 1), re-exported: rgexp.ising.T_C
from rgexp.ising._rng import chain_states
from rgexp.ising.chains import run_chains
from rgexp.ising.data import IsingData
from rgexp.seeding import as_seed_sequence, temperature_streams
from rgexp.stats import integrated_autocorr_time

__all__ = [
    "T_C",
    "critical_temperature",
    "sample_ising2d",
    "simulate_ising2d",
    "Ising2DSampler",
    "BURN_IN",
    "FIRST_PILOT",
    "MAX_PILOT",
]

BURN_IN = 100  # sweeps before the first pilot when n_thermalize is None
FIRST_PILOT = 500  # sweeps in the first pilot
MAX_PILOT = 2**18  # the pilot stops doubling here
PROBE = 20  # Wolff: sweeps to equilibrate, then to measure ⟨|C|⟩, when the burn-in is too short
PILOT_FACTOR = 200  # pilot long enough when P >= PILOT_FACTOR * tau_max (τ̂ to ~30%, Sokal)
Algorithm = Literal["wolff", "swendsen_wang", "metropolis"]
_ALGORITHMS: tuple[str, ...] = get_args(Algorithm)


def critical_temperature(J: float = 1.0) -> float:
    """Onsager's T_c = 2|J| / ln(1 + √2) of the infinite square lattice (h = 0)."""
    return abs(J) * T_C


def _check(
    L: object,
    temperatures: Sequence[float],
    n_samples: object,
    algorithm: object,
    J: object,
    h: object,
    n_thermalize: object,
    thin: object,
) -> None:
    """Raise ValueError, message starting with the parameter's name, for any value out of range."""
    if not is_int(L) or L < 2:
        raise ValueError(f"L must be an integer >= 2, got {L!r}")
    temps = list(temperatures)
    if not temps or not all(is_number(t) and math.isfinite(t) and t > 0 for t in temps):
        raise ValueError(f"temperatures must be a non-empty list of finite numbers > 0, got {temps!r}")
    if not is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(map(repr, _ALGORITHMS))}, got {algorithm!r}")
    for name, v in (("J", J), ("h", h)):
        if not is_number(v) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if algorithm != "metropolis" and h != 0:
        raise ValueError(
            f"h must be 0 for algorithm={algorithm!r} (cluster updates need a zero field; "
            f"use algorithm='metropolis' for a field), got {h!r}"
        )
    if n_thermalize is not None and (not is_int(n_thermalize) or n_thermalize < 0):
        raise ValueError(f"n_thermalize must be None or an integer >= 0, got {n_thermalize!r}")
    if thin is not None and (not is_int(thin) or thin < 1):
        raise ValueError(f"thin must be None or an integer >= 1, got {thin!r}")


def _initial_spins(L: int, T: float, J: float, h: float, rng: np.random.Generator) -> np.ndarray:
    """Ordered start below T_c(J), random above; shape (L, L) int8."""
    if J != 0 and T < critical_temperature(J):
        sign = 1 if h >= 0 else -1
        s = np.full((L, L), sign, dtype=np.int8)
        if J < 0:
            i, j = np.indices((L, L))
            s[(i + j) % 2 == 1] *= -1
        return s
    return (2 * rng.integers(0, 2, size=(L, L)) - 1).astype(np.int8)


def _series(bonds: np.ndarray, mags: np.ndarray, n: int, J: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(energy per spin, |m|) from the Σ s_i s_j and Σ s_i series of a lattice of n spins."""
    e = (-J * bonds.astype(np.float64) - h * mags.astype(np.float64)) / n
    return e, np.abs(mags.astype(np.float64)) / n


def _taus(bonds: np.ndarray, mags: np.ndarray, n: int, J: float, h: float) -> tuple[float, float]:
    """(τ_int(|m|), τ_int(E)) of a series; NaN for fewer than 2 points."""
    if bonds.size < 2:
        return float("nan"), float("nan")
    e, absm = _series(bonds, mags, n, J, h)
    return integrated_autocorr_time(absm), integrated_autocorr_time(e)


def _cluster_flips(work: np.ndarray, n: int) -> np.ndarray:
    """Wolff flips per sweep, round(L² / ⟨|C|⟩), from (flipped spins, clusters) counters."""
    mean_size = work[:, 0] / np.maximum(work[:, 1], 1)
    return np.maximum(1, np.rint(n / np.maximum(mean_size, 1.0))).astype(np.int64)


def _burn_in(spins, temps, states, burn: int, common: dict) -> np.ndarray:
    """``burn`` sweeps of every chain; returns the Wolff flips per sweep (zeros otherwise)."""
    run_chains(spins, temps, states, burn - burn // 2, series_every=0, flips_per_sweep=0, **common)
    run = run_chains(spins, temps, states, burn // 2, series_every=0, flips_per_sweep=0, **common)
    if common["algorithm"] != "wolff":
        return np.zeros(temps.size, dtype=np.int64)
    probe = run.work  # ⟨|C|⟩ from the second half of the burn-in ...
    if burn < 2 * PROBE:  # ... or from copies of the chains, which are left alone
        copies, copy_states = spins.copy(), states.copy()
        run_chains(copies, temps, copy_states, PROBE, series_every=0, **common)
        probe = run_chains(copies, temps, copy_states, PROBE, series_every=0, **common).work
    return _cluster_flips(probe, spins[0].size)


def _pilot(spins, temps, states, fps: np.ndarray, common: dict):
    """Doubling pilots until P >= PILOT_FACTOR τ_max; returns τ in sweeps (n_T, 2), pilot sweeps,
    reliability flags and the Wolff flips per sweep re-measured on the last pilot."""
    n_chains, n = temps.size, spins[0].size
    J, h = common["J"], common["h"]
    tau = np.full((n_chains, 2), np.nan)
    n_pilot = np.zeros(n_chains, dtype=np.int64)
    reliable = np.ones(n_chains, dtype=bool)
    pilot = np.full(n_chains, FIRST_PILOT, dtype=np.int64)
    todo = np.ones(n_chains, dtype=bool)
    while todo.any():
        ran = todo.copy()
        run = run_chains(spins, temps, states, np.where(ran, pilot, 0), series_every=1, flips_per_sweep=fps, **common)
        for c in np.flatnonzero(ran):
            tau[c] = _taus(run.bonds[c, : pilot[c]], run.mags[c, : pilot[c]], n, J, h)
            n_pilot[c] += pilot[c]
            long_enough = pilot[c] >= PILOT_FACTOR * tau[c].max()
            if long_enough or pilot[c] >= MAX_PILOT:
                todo[c] = False
                reliable[c] = long_enough
            else:
                pilot[c] = min(2 * pilot[c], MAX_PILOT)
        if common["algorithm"] == "wolff":  # equilibrium ⟨|C|⟩ fixes the production sweep
            fps = np.where(ran, _cluster_flips(run.work, n), fps)
    return tau, n_pilot, reliable, fps


def _info(run, c: int, n_samples: int, common: dict, **extra) -> dict:
    """The diagnostics of chain c after production (plain Python scalars)."""
    algorithm, J, h = common["algorithm"], common["J"], common["h"]
    L = run.stored.shape[-1]
    tau_absm, tau_e = _taus(run.bonds[c, :n_samples], run.mags[c, :n_samples], L * L, J, h)
    rate = float(run.work[c, 0] / max(run.work[c, 1], 1))
    info = {"algorithm": algorithm, "L": L, "J": float(J), "h": float(h), "n_samples": n_samples, **extra}
    info.update(
        tau_int_absm=tau_absm,
        tau_int_energy=tau_e,
        n_eff=n_samples / (2.0 * max(tau_absm, tau_e)) if n_samples > 1 else float(n_samples),
    )
    info[{"wolff": "mean_cluster_size", "metropolis": "acceptance"}.get(algorithm, "clusters_per_sweep")] = rate
    return info


def _simulate_chains(
    L: int,
    temperatures: np.ndarray,
    n_samples: int,
    algorithm: str,
    J: float,
    h: float,
    n_thermalize: int | None,
    thin: int | None,
    seeds: Sequence[np.random.SeedSequence],
) -> tuple[np.ndarray, list[dict]]:
    """One chain per temperature; returns spins (n_T, n_samples, L, L) int8 and one info dict each."""
    temps = np.asarray(temperatures, dtype=np.float64)
    n_chains = temps.size
    gens = [np.random.Generator(np.random.PCG64(ss)) for ss in seeds]
    spins = np.stack([_initial_spins(L, T, J, h, g) for T, g in zip(temps, gens)])
    states = np.concatenate([chain_states(g, 1) for g in gens])
    common = dict(algorithm=algorithm, J=J, h=h)

    burn = BURN_IN if n_thermalize is None else n_thermalize
    fps = _burn_in(spins, temps, states, burn, common)
    tau = np.full((n_chains, 2), np.nan)
    n_pilot = np.zeros(n_chains, dtype=np.int64)
    reliable = np.ones(n_chains, dtype=bool)
    if n_thermalize is None or thin is None:
        tau, n_pilot, reliable, fps = _pilot(spins, temps, states, fps, common)
    thins = np.full(n_chains, thin) if thin is not None else np.ceil(2.0 * tau.max(axis=1))
    thins = np.maximum(1, thins).astype(np.int64)
    run = run_chains(
        spins, temps, states, n_samples * thins, store_every=thins, series_every=thins,
        flips_per_sweep=fps, global_flip=(h == 0), **common,
    )  # fmt: skip
    infos = []
    for c in range(n_chains):
        extra = dict(
            T=float(temps[c]), thin=int(thins[c]), n_thermalize=int(burn + n_pilot[c]), n_pilot=int(n_pilot[c]),
            tau_int_absm_sweeps=float(tau[c, 0]), tau_int_energy_sweeps=float(tau[c, 1]),
            tau_reliable=bool(reliable[c]),
        )  # fmt: skip
        if algorithm == "wolff":
            extra["cluster_flips_per_sweep"] = int(fps[c])
        infos.append(_info(run, c, n_samples, common, **extra))
    return run.stored[:, :n_samples], infos


def simulate_ising2d(
    L: int,
    T: float,
    n_samples: int,
    *,
    algorithm: Algorithm = "wolff",
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    h: float = 0.0,
    n_thermalize: int | None = None,
    thin: int | None = None,
) -> tuple[np.ndarray, dict]:
    """Samples (n_samples, L, L) int8 at temperature T, plus MC diagnostics.

    The info dict holds ``tau_int_absm``/``tau_int_energy`` (in stored samples, measured on the
    output), ``tau_int_absm_sweeps``/``tau_int_energy_sweeps`` (in sweeps, from the pilot; NaN when
    both ``n_thermalize`` and ``thin`` were given), ``n_eff`` = n_samples / (2 max τ), ``thin``,
    ``n_thermalize`` (all sweeps discarded, pilot included), ``n_pilot``, ``tau_reliable`` and an
    algorithm-specific rate. See the module docstring for the thermalization and thinning rules.
    """
    _check(L, [T], n_samples, algorithm, J, h, n_thermalize, thin)
    spins, infos = _simulate_chains(
        L, np.array([T], dtype=float), n_samples, algorithm, float(J), float(h), n_thermalize, thin,
        [as_seed_sequence(seed)],
    )  # fmt: skip
    return spins[0], infos[0]


def sample_ising2d(
    L: int,
    T: float,
    n_samples: int,
    *,
    algorithm: Algorithm = "wolff",
    seed: int | np.random.SeedSequence = 0,
    J: float = 1.0,
    h: float = 0.0,
    n_thermalize: int | None = None,
    thin: int | None = None,
) -> np.ndarray:
    """Equilibrated, thinned configurations of the periodic L×L Ising model: (n_samples, L, L) int8.

    ``algorithm``: "wolff" (default, best near T_c), "swendsen_wang" or "metropolis" (the only one
    allowing h != 0). ``thin`` is the number of sweeps between stored samples (None: ceil(2 τ_int)
    from a pilot run); ``n_thermalize`` the burn-in in sweeps (None: automatic, >= 200 τ_int).
    Use :func:`simulate_ising2d` to get the diagnostics too.
    """
    return simulate_ising2d(
        L, T, n_samples, algorithm=algorithm, seed=seed, J=J, h=h, n_thermalize=n_thermalize, thin=thin
    )[0]


class Ising2DSampler:
    """Config-instantiated sampler of a temperature grid (``conf/sampler/*.yaml``).

    ``__init__`` only validates; :meth:`sample` does the work, one independent stream per
    temperature keyed by its value (:func:`temperature_streams`), chains run in parallel over numba threads.
    """

    def __init__(
        self,
        L: int,
        temperatures: list[float],
        n_samples: int,
        algorithm: Literal["wolff", "swendsen_wang", "metropolis"] = "wolff",
        J: float = 1.0,
        h: float = 0.0,
        n_thermalize: int | None = None,
        thin: int | None = None,
    ) -> None:
        temperatures = list(temperatures)
        _check(L, temperatures, n_samples, algorithm, J, h, n_thermalize, thin)
        self.L = int(L)
        self.temperatures = [float(t) for t in temperatures]
        self.n_samples = int(n_samples)
        self.algorithm = algorithm
        self.J = float(J)
        self.h = float(h)
        self.n_thermalize = n_thermalize
        self.thin = thin

    @property
    def lattice_shape(self) -> tuple[int, int]:
        return (self.L, self.L)

    def __repr__(self) -> str:
        return (
            f"Ising2DSampler(L={self.L}, temperatures=<{len(self.temperatures)} values>, "
            f"n_samples={self.n_samples}, algorithm={self.algorithm!r}, J={self.J}, h={self.h}, "
            f"n_thermalize={self.n_thermalize}, thin={self.thin})"
        )

    def sample(self, seed: np.random.SeedSequence, progress: bool = False) -> IsingData:
        """Spins (n_T, n_samples, L, L) int8 with per-temperature diagnostics in ``info``.

        Temperature T uses only the stream keyed by T (``seed`` itself is not mutated, so the result
        is a pure function of it): the data at T do not depend on the rest of the grid, on
        ``progress`` or on the thread count.
        """
        seeds = temperature_streams(as_seed_sequence(seed), self.temperatures)
        temps = np.asarray(self.temperatures, dtype=np.float64)
        batch = max(1, numba.get_num_threads()) if progress else temps.size
        if batch >= temps.size:  # one batch: keep the chains' own sample buffer, not a second copy of it
            spins, infos = _simulate_chains(self.L, temps, self.n_samples, self.algorithm, self.J, self.h,
                                            self.n_thermalize, self.thin, seeds)
            return IsingData(spins=np.ascontiguousarray(spins), temperatures=temps, info=infos)
        spins = np.empty((temps.size, self.n_samples, self.L, self.L), dtype=np.int8)
        infos: list[dict] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=temps.size, desc=f"Ising {self.algorithm} L={self.L}", unit="T")
        for start in range(0, temps.size, batch):
            part = slice(start, start + batch)
            spins[part], info = _simulate_chains(
                self.L, temps[part], self.n_samples, self.algorithm, self.J, self.h,
                self.n_thermalize, self.thin, seeds[part],
            )  # fmt: skip
            infos.extend(info)
            if bar is not None:
                bar.update(len(info))
        if bar is not None:
            bar.close()
        return IsingData(spins=spins, temperatures=temps, info=infos)
