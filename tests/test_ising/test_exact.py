"""The exact helpers agree with each other (transfer matrix vs brute force) and with known limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgexp.ising import T_C, critical_temperature
from rgexp.ising.exact import (
    enumerate_states,
    exact_distribution,
    exact_observables,
    onsager_magnetization,
    transfer_matrix_thermo,
)


def test_enumeration_covers_every_state_once():
    states = enumerate_states(3)
    assert states.shape == (512, 3, 3) and states.dtype == np.int8
    assert len({s.tobytes() for s in states}) == 512


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("T, J, h", [(1.3, 1.0, 0.0), (2.269, 1.0, 0.0), (3.0, 1.0, 0.4), (2.0, -0.5, 0.2)])
def test_transfer_matrix_matches_enumeration(L, T, J, h):
    tm = transfer_matrix_thermo(L, T, J, h)
    ex = exact_observables(L, T, J, h)
    assert tm["energy"] == pytest.approx(ex["energy"], rel=1e-10, abs=1e-12)
    assert tm["specific_heat"] == pytest.approx(ex["specific_heat"], rel=1e-9, abs=1e-12)


def test_distribution_normalised_and_ground_states():
    bonds, mags, p = exact_distribution(4, 0.5)
    assert p.sum() == pytest.approx(1.0)
    ground = bonds == bonds.max()
    assert bonds.max() == 32 and set(mags[ground]) == {-16, 16}
    assert p[ground].sum() > 0.999


def test_transfer_matrix_high_and_low_temperature_limits():
    assert transfer_matrix_thermo(6, 1e3)["energy"] == pytest.approx(-2.0 / 1e3, rel=1e-2)
    assert transfer_matrix_thermo(6, 0.2)["energy"] == pytest.approx(-2.0, abs=1e-6)


def test_onsager_magnetization():
    assert T_C == pytest.approx(2.269185314213022)
    assert critical_temperature(-2.0) == pytest.approx(2 * T_C)
    assert onsager_magnetization(T_C) == 0.0 and onsager_magnetization(3.0) == 0.0
    assert onsager_magnetization(1.0) == pytest.approx(0.99927, abs=1e-5)
    # β = 1/8: M ∝ (-t)^(1/8) as t -> 0
    t1, t2 = 1e-6, 1e-8
    ratio = onsager_magnetization(T_C * (1 - t1)) / onsager_magnetization(T_C * (1 - t2))
    assert math.log(ratio) / math.log(t1 / t2) == pytest.approx(0.125, rel=1e-3)
