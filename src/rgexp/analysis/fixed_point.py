"""Where the RBM flow's fixed point lies, measured while the RBM trains.

At scheduled training updates (log-spaced), configurations are flowed through the current RBM from
T = ∞ starts (independent ±1 spins, or exactly half up) and from the data nearest T_c, for
``n_steps`` steps; the last step stands for the fixed point. Its temperature is read three ways —
the energy reading (the T whose Monte Carlo ⟨s s'⟩ matches: exact maximum likelihood for the
nearest-neighbour model), the magnetization reading (the T whose ⟨|m|⟩ matches) and the neural
thermometer (mean argmax class) — because the flowed states need not be equilibrium Ising states,
and then no single reading places them: where the readings disagree, that is the finding.
``drift`` is how far the energy reading still moves over the last ``drift_steps`` steps.

Pure: the readings are injected as callables; :mod:`rgexp.stages._fixed_point` schedules and logs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from rgexp.analysis.observables import abs_magnetization
from rgexp.flows.rbm_flow import RandomStart, check_random_start, random_spins, rbm_flow
from rgexp.stats import Estimate, mean_estimate

__all__ = ["FixedPoint", "fixed_point_readings", "log_spaced_updates"]

Reader = Callable[[np.ndarray], Estimate]  # configurations (n, *lattice) -> a temperature


def log_spaced_updates(total: int, n_points: int) -> list[int]:
    """About ``n_points`` distinct updates in [1, total], log-spaced, always ending at ``total``."""
    if total < 1:
        return []
    grid = np.unique(np.round(np.geomspace(1, total, max(int(n_points), 1))).astype(int))
    return sorted(set(int(u) for u in grid) | {int(total)})


def fixed_point_readings(rbm, v0: torch.Tensor, n_steps: int, drift_steps: int, generator: torch.Generator,
                         lattice_shape: tuple[int, ...], readers: dict[str, Reader]) -> dict[str, Estimate]:
    """Flow v0 (n, n_visible) for ``n_steps`` and read the last step: ``temperature_<reader>`` for
    each reader, ``abs_magnetization``, and ``drift`` (energy reading at the last step minus that
    ``drift_steps`` earlier; needs an ``energy`` reader)."""
    flowed = rbm_flow(rbm, v0, n_steps, generator)
    spins = [rbm.to_spins(flowed[k]).detach().cpu().numpy().reshape(-1, *lattice_shape)
             for k in (max(n_steps - drift_steps, 0), n_steps)]
    out = {f"temperature_{name}": read(spins[1]) for name, read in readers.items()}
    out["abs_magnetization"] = mean_estimate(abs_magnetization(spins[1]), tau_int=0.5)
    if "energy" in readers:
        before, after = readers["energy"](spins[0]), out["temperature_energy"]
        censored = not math.isfinite(before.error * after.error)  # a reading at the grid's edge: no drift
        out["drift"] = Estimate(math.nan if censored else after.value - before.value,
                                math.nan if censored else math.hypot(before.error, after.error))
    return out


class FixedPoint:
    """Config component ``analysis.fixed_point``: the flow's fixed point against training updates.

    n_points:    measurements, log-spaced over the training updates (the last update always).
    n_steps:     flow length that stands for the fixed point.
    n_samples:   configurations flowed from each start.
    drift_steps: the drift is the energy reading's change over these last steps.
    random_start: ``iid`` (independent ±1 spins) or ``half`` (exactly half the spins up, Iso's).
    from_data:   also flow the data at the grid temperature nearest T_c (logged with /T<T>).
    """

    def __init__(self, n_points: int = 12, n_steps: int = 30, n_samples: int = 500, drift_steps: int = 5,
                 random_start: RandomStart = "iid", from_data: bool = True) -> None:
        for key, value, low in (("n_points", n_points, 1), ("n_steps", n_steps, 1), ("n_samples", n_samples, 2),
                                ("drift_steps", drift_steps, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key} must be an int >= {low}, got {value!r}")
        if drift_steps > n_steps:
            raise ValueError(f"drift_steps must be <= n_steps ({n_steps}), got {drift_steps}")
        check_random_start(random_start)
        if not isinstance(from_data, bool):
            raise ValueError(f"from_data must be true or false, got {from_data!r}")
        self.n_points, self.n_steps, self.n_samples, self.drift_steps = n_points, n_steps, n_samples, drift_steps
        self.random_start, self.from_data = random_start, from_data

    def schedule(self, total_updates: int) -> list[int]:
        return log_spaced_updates(total_updates, self.n_points)

    def random_configs(self, n_visible: int, generator: torch.Generator) -> torch.Tensor:
        """(n_samples, n_visible) ±1 T = ∞ starts: iid, or each row a random arrangement of exactly
        ⌊n/2⌋ up spins."""
        return random_spins(self.n_samples, n_visible, generator, self.random_start)
