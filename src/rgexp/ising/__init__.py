"""rgexp.ising: Monte Carlo samples of Ising models, with diagnostics and exact checks.

2D nearest-neighbour model on a periodic L×L lattice (int8 ±1 configurations):

* :func:`sample_ising2d` / :func:`simulate_ising2d` (samples + diagnostics) and the
  config-instantiated :class:`Ising2DSampler` (``conf/sampler/*.yaml``), returning
  :class:`IsingData`. Algorithms: Wolff (default), Swendsen–Wang, checkerboard Metropolis.
* Observables with errors (:mod:`rgexp.ising.observables`) and a Binder-crossing T_c finder
  (:mod:`rgexp.ising.binder`).
* Exact enumeration, row transfer matrix and Onsager results (:mod:`rgexp.ising.exact`).
* Low-level kernels: :mod:`rgexp.ising.nn2d` (single updates) and :mod:`rgexp.ising.chains`
  (many chains in parallel).

Also re-exported: the 1D chain (:func:`sample_ising1d`, :class:`Chain1DSampler`, from
:mod:`rgexp.ising.chain1d`) and the long-range model (:func:`sample_long_range`,
:class:`LongRangeSampler`, from :mod:`rgexp.ising.long_range`).
"""

from rgexp.ising.binder import binder_crossings, find_tc_binder
from rgexp.ising.chain1d import Chain1DSampler, sample_ising1d
from rgexp.ising.data import IsingData
from rgexp.ising.exact import (
    enumerate_states,
    exact_distribution,
    exact_observables,
    onsager_magnetization,
    transfer_matrix_thermo,
)
from rgexp.ising.observables import (
    binder_cumulant,
    energy_per_spin,
    magnetization,
    mean_abs_magnetization,
    mean_energy,
    mean_m2,
    measure,
    specific_heat,
    susceptibility,
)
from rgexp.ising.long_range import LongRangeSampler, sample_long_range
from rgexp.ising.sampler import (
    T_C,
    Ising2DSampler,
    critical_temperature,
    sample_ising2d,
    simulate_ising2d,
)

from rgexp.ising.long_range_fss import critical_point, exact_delta_sigma, scaling_dimensions

__all__ = [
    "critical_point",
    "scaling_dimensions",
    "exact_delta_sigma",
    "IsingData",
    "Ising2DSampler",
    "sample_ising2d",
    "simulate_ising2d",
    "T_C",
    "critical_temperature",
    "energy_per_spin",
    "magnetization",
    "mean_energy",
    "mean_abs_magnetization",
    "mean_m2",
    "specific_heat",
    "susceptibility",
    "binder_cumulant",
    "measure",
    "binder_crossings",
    "find_tc_binder",
    "enumerate_states",
    "exact_distribution",
    "exact_observables",
    "transfer_matrix_thermo",
    "onsager_magnetization",
    "sample_ising1d",
    "Chain1DSampler",
    "sample_long_range",
    "LongRangeSampler",
]
