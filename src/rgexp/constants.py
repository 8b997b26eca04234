"""Exact values of the models the harness samples, each with its source: the one registry.

Every value here, with its citation, is restated in the repository's ``docs/references.md`` (with
the published measurements and the sources' settings the project relies on).

Units J = k_B = 1 (a coupling J scales T_c by |J|). Everything that uses an exact value — the
samplers' T_c, the exact magnetization, the torus correlators, the reference lines of the figures,
the report's references and the YAML (through the ``exact`` resolver, e.g.
``temperatures: [2.0, "${exact:ising2d.T_c}"]``) — reads it from here.

- :data:`ISING_2D`, the nearest-neighbour square lattice: T_c = 2/ln(1+√2) (Onsager 1944, where
  Kramers & Wannier 1941 located it by duality); β = 1/8 (Yang 1952); ν = 1 (Onsager 1944);
  Δ_σ = β/ν = 1/8 and Δ_ε = d − 1/ν = 1, the σ and ε of the Ising CFT (Belavin, Polyakov &
  Zamolodchikov 1984).
- :data:`CHAIN_1D`, the nearest-neighbour chain: no order at T > 0 (Ising 1925), T_c = 0;
  decimation tanh K' = tanh² K has the stable fixed point K* = 0 (and K* = ∞).
- :func:`long_range`, −Σ J s_i s_j / r^(d+σ): η = 2 − σ exactly in the long-range regime
  d/2 <= σ < σ_* (Fisher, Ma & Nickel 1972; Sak 1973), so Δ_σ = (d − σ)/2; mean field below
  d/2 (periodic finite-size scaling gives Δ_σ = d/4); the short-range class above σ_* = 7/4
  (= 2 − η_SR) in d = 2. T_c, ν and Δ_ε have no closed form there (None).
- :data:`PUBLISHED_T_C`: measured, not exact — the long-range T_c published with its error
  (Angelini, Parisi & Ricci-Tersenghi 2014), by (d, σ, couplings convention).

:func:`reference` gives a quantity of a run's model by name (``"T_c"``, ``"delta_sigma"``, …): the
one look-up of the comparison report's claims (``rgexp/report/claims.yaml``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["ExactValues", "ISING_2D", "CHAIN_1D", "T_C", "SIGMA_STAR_2D", "long_range", "exact", "MODELS",
           "Published", "PUBLISHED_T_C", "QUANTITIES", "reference"]


@dataclass(frozen=True)
class ExactValues:
    """Exact values of one model (None: none known in closed form)."""

    T_c: float | None
    delta_sigma: float | None = None
    delta_epsilon: float | None = None
    beta: float | None = None  # ⟨|m|⟩ ∝ (−t)^β below T_c
    nu: float | None = None  # ξ ∝ |t|^(−ν)
    K_star: float | None = None  # the stable fixed point of the coupling under RG
    source: str = ""


T_C: float = 2.0 / math.log1p(math.sqrt(2.0))  # Onsager's T_c of the square lattice, J = 1

ISING_2D = ExactValues(
    T_c=T_C, delta_sigma=1 / 8, delta_epsilon=1.0, beta=1 / 8, nu=1.0,
    source="L. Onsager, Phys. Rev. 65, 117 (1944); C. N. Yang, Phys. Rev. 85, 808 (1952); A. A. Belavin, "
           "A. M. Polyakov, A. B. Zamolodchikov, Nucl. Phys. B 241, 333 (1984)")

CHAIN_1D = ExactValues(
    T_c=0.0, K_star=0.0,
    source="E. Ising, Z. Phys. 31, 253 (1925); decimation: D. R. Nelson, M. E. Fisher, Ann. Phys. 91, 226 (1975)")

SIGMA_STAR_2D = 7 / 4  # long range, d = 2: the long-range/short-range boundary σ_* = 2 − η_SR (Sak 1973)

_LONG_RANGE_SOURCE = ("M. E. Fisher, S. Ma, B. G. Nickel, Phys. Rev. Lett. 29, 917 (1972); J. Sak, "
                      "Phys. Rev. B 8, 281 (1973)")


def long_range(sigma: float, d: int) -> ExactValues:
    """Exact values of the long-range model −Σ J s_i s_j / r^(d+σ) in d = 1 or 2 (module docstring).

    Δ_σ: d/4 for σ < d/2 (mean field, periodic FSS), (d − σ)/2 for d/2 <= σ < σ_* (η = 2 − σ),
    1/8 for σ > 7/4 in d = 2 (short-range Ising). Raises for the marginal σ_* = 7/4 in d = 2 and
    for d = 1, σ >= 1 (no transition for σ > 1; σ = 1 is the Thouless jump, not a power law).
    """
    if d not in (1, 2):
        raise ValueError(f"d must be 1 or 2, got {d!r}")
    if not (isinstance(sigma, numbers.Real) and not isinstance(sigma, bool) and 0 < sigma <= 2):
        raise ValueError(f"sigma must be in (0, 2], got {sigma!r}")
    sigma_star = SIGMA_STAR_2D if d == 2 else 1.0  # d = 1: no short-range transition beyond
    if sigma < d / 2:
        delta = d / 4
    elif sigma < sigma_star:
        delta = (d - sigma) / 2
    elif d == 2 and sigma > sigma_star:
        delta = ISING_2D.delta_sigma
    elif d == 1:
        raise ValueError(f"sigma must be < 1 in d = 1 (σ = 1: Thouless jump; σ > 1: no transition), got {sigma!r}")
    else:
        raise ValueError(f"sigma must differ from the marginal 7/4 in d = 2, got {sigma!r}")
    return ExactValues(T_c=None, delta_sigma=delta, source=_LONG_RANGE_SOURCE)


MODELS: dict[str, ExactValues] = {"ising2d": ISING_2D, "chain1d": CHAIN_1D}


def exact(path: str, *args: float) -> float:
    """``exact("ising2d.T_c")``, ``exact("long_range.delta_sigma", sigma, d)``: one value by name —
    the ``${exact:...}`` resolver of the YAML files. Unknown names and values without a closed
    form raise ``ValueError`` naming what exists."""
    model, _, name = path.partition(".")
    if model == "long_range":
        values = long_range(*args)
    elif model in MODELS and not args:
        values = MODELS[model]
    else:
        raise ValueError(f"exact: unknown model {model!r}; known: {', '.join(MODELS)}, long_range (with sigma, d)")
    value = getattr(values, name, None) if name in ExactValues.__dataclass_fields__ and name != "source" else None
    if value is None:
        known = [k for k, v in vars(values).items() if v is not None and k != "source"]
        raise ValueError(f"exact: {path!r} has no exact value; known for {model}: {', '.join(known)}")
    return value


@dataclass(frozen=True)
class Published:
    """A published measurement: its value, the error on the last digits as published, the source."""

    value: float
    error: float
    source: str


_ANGELINI = "M. C. Angelini, G. Parisi, F. Ricci-Tersenghi, Phys. Rev. E 89, 062120 (2014)"
# Long range, J = 1, cluster Monte Carlo on L = 2^n, extrapolated Binder crossings. The couplings
# convention matters at finite L (images: summed over periodic images; minimum_image: one coupling
# at the minimum-image distance); the two agree only in the thermodynamic limit.
PUBLISHED_T_C: dict[tuple[int, float, str], Published] = {
    (2, 1.6, "images"): Published(5.29321, 0.00004, _ANGELINI),
    (1, 0.875, "minimum_image"): Published(2.10589, 0.00001, _ANGELINI),
}

QUANTITIES = ("T_c", "delta_sigma", "delta_epsilon", "beta", "nu", "K_star")


def reference(quantity: str, model: str, *, J: float = 1.0, sigma: float | None = None, d: int | None = None,
              couplings: str = "images") -> float | None:
    """``quantity`` of a run of ``model`` (``ising2d``, ``chain1d``, ``long_range`` with its σ, d
    and couplings convention); None where none is known (no closed form, no published value, a σ
    outside the long-range regimes). T_c scales with |J|; a long-range T_c is a published one
    (:data:`PUBLISHED_T_C`). Unknown names raise ``ValueError`` naming the allowed ones."""
    if quantity not in QUANTITIES:
        raise ValueError(f"reference: unknown quantity {quantity!r}; allowed: {', '.join(QUANTITIES)}")
    if model == "long_range":
        if sigma is None or d is None:
            return None
        if quantity == "T_c":
            found = PUBLISHED_T_C.get((int(d), round(float(sigma), 6), couplings))
            return found.value * abs(J) if found is not None else None
        try:
            values = long_range(float(sigma), int(d))
        except ValueError:
            return None
    elif model in MODELS:
        values = MODELS[model]
    else:
        raise ValueError(f"reference: unknown model {model!r}; allowed: {', '.join(MODELS)}, long_range")
    value = getattr(values, quantity)
    return value * abs(J) if value is not None and quantity == "T_c" else value
