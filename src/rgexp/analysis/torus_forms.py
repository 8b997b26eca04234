"""Critical Ising correlators on the square torus: the finite-size forms the Δ fits use.

Finite-size form (``form="torus"``, the default)
------------------------------------------------
At T_c the lattice correlators of an L×L torus approach those of the Ising CFT on the square
torus (τ = i), known exactly (Di Francesco, Saleur & Zuber, Nucl. Phys. B 290 (1987) 527). For a
displacement d = (dx, dy), z = π (dx + i dy) / L, Jacobi thetas θ_ν(z) of nome q = e^{−π} (period
π) and the "elliptic chord" h(d) = (L/π) |θ₁(z) / θ₁'(0)| e^{−π (dy/L)²} (→ |d| for |d| ≪ L; the
Gaussian factor, from the torus Green's function, makes h periodic and invariant under the
square's rotations, so the form stays symmetric when Δ is not the Ising value):

    ⟨σσ⟩(d)   = h^{−2Δ_σ} S_σ,   S_σ = e^{−2Δ_σ π (dy/L)²} Σ_{ν=1}^{4} |θ_ν(z/2)| / Σ_{ν=2}^{4} |θ_ν(0)|
    ⟨εε⟩_c(d) = h^{−2Δ_ε} S_ε − ε₁² L^{−2Δ_ε},
                S_ε = e^{−2Δ_ε π (dy/L)²} Σ_{ν=2}^{4} |θ_ν(z)|² / |θ_ν(0)| / Σ_{ν=2}^{4} |θ_ν(0)|

S_ε follows from ε = iψψ̄ and the Szegő kernels of the even spin structures weighted by their
partition functions |θ_ν/η|. The doubly periodic sector adds nothing to ⟨εε⟩ but gives the torus a
one-point function ⟨ε⟩ = ε₁/L, ε₁ = 2π|η(i)|³ / Σ|θ_ν(0)| ≈ 0.9777, which the connected lattice
correlator subtracts. Checked against exact lattice numbers: the 1/L term of ⟨s s'⟩ at T_c from
the row transfer matrix (L = 4…10) is 0.3108–0.3127 against ε₁ b = 0.3112, with b = 1/π the bond
amplitude implied by the exact specific heat c ≈ (8/π) K_c² ln L. The fitted amplitudes agree:
A_ε ≈ 0.10 ≈ 1/π² on 32×32, A_σ ≈ 0.704 against the exact infinite-lattice 0.70338.

Other forms: the chord (L/π) sin(π r/L) (``form="chord"``, the CFT on a cylinder) is off by 7 %
over r = 1…5 for σ on 10×10 at T_c and gives Δ_σ ≈ 0.07–0.09; sums over images Σ_n |r + nL|^{−2Δ}
diverge for 2Δ <= 2, i.e. for σ and ε. ``"plane"`` is pure |d|^{−2Δ}, for |d| ≪ L.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

from rgexp.analysis.correlators import Operator
from rgexp.constants import ISING_2D

__all__ = ["Form", "scaling_form"]

Form = Literal["torus", "chord", "plane"]
_FORMS: tuple[str, ...] = get_args(Form)
_Q = math.exp(-math.pi)  # nome of the square torus, τ = i
_N = np.arange(8)  # theta series terms: q^(7.5²) ≈ 1e-77, far below double precision


def _theta(nu: int, z: np.ndarray) -> np.ndarray:
    """Jacobi θ_ν(z | q = e^{−π}) in the period-π convention, for complex z."""
    z = np.asarray(z, dtype=np.complex128)[..., None]
    n, m = _N, _N[1:]
    if nu == 1:
        return 2.0 * np.sum((-1.0) ** n * _Q ** ((n + 0.5) ** 2) * np.sin((2 * n + 1) * z), axis=-1)
    if nu == 2:
        return 2.0 * np.sum(_Q ** ((n + 0.5) ** 2) * np.cos((2 * n + 1) * z), axis=-1)
    sign = 1.0 if nu == 3 else -1.0
    return 1.0 + 2.0 * np.sum(sign**m * _Q ** (m**2) * np.cos(2 * m * z), axis=-1)


def _theta1_prime0() -> float:
    """θ₁'(0) in the period-π convention; equals 2|η(i)|³."""
    n = _N
    return float(2.0 * np.sum((-1.0) ** n * _Q ** ((n + 0.5) ** 2) * (2 * n + 1)))


def _terms(d: np.ndarray, L: int, operator: str, form: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """u_Δ(d) = Σ_j c_j e^{−2Δ ℓ_j} at displacements d (K, 2) = (dx, dy), as [(c_j, ℓ_j)].

    One term c = S, ℓ = log h for every form, plus, for the torus ε form, the one-point
    subtraction c = −ε₁², ℓ = log L (module docstring). Displacements must be nonzero mod L.
    """
    d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
    one = np.ones(d.shape[0])
    if form == "plane":
        return [(one, np.log(np.hypot(d[:, 0], d[:, 1])))]
    if form == "chord":
        chord = (L / np.pi) * np.hypot(np.sin(np.pi * d[:, 0] / L), np.sin(np.pi * d[:, 1] / L))
        return [(one, np.log(chord))]
    z = np.pi * (d[:, 0] + 1j * d[:, 1]) / L
    gauss = np.pi * (d[:, 1] / L) ** 2  # |θ₁(z)| e^{−π (Im z/π)²} is periodic and rotation invariant
    log_h = np.log((L / np.pi) * np.abs(_theta(1, z)) / _theta1_prime0()) - gauss
    thetas0 = [abs(_theta(nu, 0.0)) for nu in (2, 3, 4)]
    if operator == "sigma":
        s = sum(np.abs(_theta(nu, z / 2)) for nu in (1, 2, 3, 4)) / sum(thetas0)
        return [(s * np.exp(-2.0 * ISING_2D.delta_sigma * gauss), log_h)]
    s = sum(np.abs(_theta(nu, z)) ** 2 / t0 for nu, t0 in zip((2, 3, 4), thetas0)) / sum(thetas0)
    eps1 = np.pi * _theta1_prime0() / sum(thetas0)  # 2π|η(i)|³ / Σ|θ_ν(0)|
    return [(s * np.exp(-2.0 * ISING_2D.delta_epsilon * gauss), log_h), (-(eps1**2) * one, math.log(L) * one)]


def _modulations(d: np.ndarray, corrections: bool, angular: bool) -> np.ndarray:
    """The bracket's basis at d (K, 2): rows 1, |d|^{−2} and cos(4θ)|d|^{−2} as switched on; (k, K)."""
    d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
    rows = [np.ones(d.shape[0])]
    if corrections:
        r2 = d[:, 0] ** 2 + d[:, 1] ** 2
        rows.append(1.0 / r2)
        if angular:
            rows.append(np.cos(4.0 * np.arctan2(d[:, 1], d[:, 0])) / r2)
    return np.stack(rows)


def _basis(terms: list[tuple[np.ndarray, np.ndarray]], delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u_Δ and du_Δ/dΔ for Δ of shape (B,): two (B, K) arrays."""
    delta = np.asarray(delta, dtype=np.float64)[:, None]
    u = sum(c * np.exp(-2.0 * delta * ell) for c, ell in terms)
    du = sum(-2.0 * ell * c * np.exp(-2.0 * delta * ell) for c, ell in terms)
    return u, du


def scaling_form(
    d: np.ndarray, L: int, delta: float, operator: Operator = "sigma", form: Form = "torus"
) -> np.ndarray:
    """u_Δ, the fit model with A = 1 and no corrections, on an L×L torus: d (K,) axis distances
    or (K, 2) displacement vectors (nonzero mod L) -> (K,). For the torus form and Δ = 1/8 (σ)
    or 1 (ε) this is the critical Ising torus correlator, → |d|^{−2Δ} at short distance.
    """
    _check_form(form, operator)
    d = np.asarray(d, dtype=np.float64)
    vec = np.stack([d, np.zeros_like(d)], axis=-1) if d.ndim == 1 else d
    return _basis(_terms(vec, L, operator, form), np.array([delta]))[0][0]


def _check_form(form: str, operator: str) -> None:
    if form not in _FORMS:
        raise ValueError(f"form must be one of {', '.join(_FORMS)}; got {form!r}")
    if operator not in ("sigma", "epsilon", "epsilon4"):
        raise ValueError(f"operator must be sigma, epsilon or epsilon4; got {operator!r}")
