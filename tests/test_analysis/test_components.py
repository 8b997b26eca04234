"""Config components of the analysis group: the magnetization fit against Onsager, coarse lattices."""

import numpy as np
import pytest

from rgexp.analysis import ScalingDimensions
from rgexp.config import check_config
from rgexp.errors import ConfigError
from rgexp.ising import T_C
from rgexp.rg import BlockSpinRG
from rgexp.stages import coarse_sizes  # a one-layer _Stack is a single RBM: its hidden layer is not a lattice read
from tests.conftest import compose_config


def onsager_m(T: np.ndarray) -> np.ndarray:
    """Yang's exact spontaneous magnetization of the square lattice (J = 1), T < T_c."""
    return (1.0 - np.sinh(2.0 / T) ** -4) ** 0.125


def test_magnetization_fit_recovers_beta_from_onsager():
    T = np.linspace(1.6, 2.26, 23)
    m, dm = onsager_m(T), np.full(T.size, 1e-3)
    corrected = ScalingDimensions(m_window=[0.0, 0.3], m_correction=True).fit_magnetization(T, m, dm)
    assert corrected.ci_low < 0.125 < corrected.ci_high and corrected.ci_high - corrected.ci_low < 0.01
    # the pure power law over |t| <= 0.3 is biased low by the Onsager curve's O(t) correction
    plain = ScalingDimensions(m_window=[0.0, 0.3]).fit_magnetization(T, m, dm)
    assert plain.ci_high < 0.125


def test_magnetization_fit_needs_points_below_tc():
    T = np.array([1.0, 2.2, 2.5, 3.0])  # one point within |t| <= 0.3 below T_c
    assert ScalingDimensions().fit_magnetization(T, onsager_m(np.minimum(T, 2.26)), np.full(4, 1e-3)) is None


def test_scaling_component_options_are_validated():
    with pytest.raises(ValueError, match="m_window"):
        ScalingDimensions(m_window=[0.3, 0.1])
    with pytest.raises(ValueError, match="T_c"):
        ScalingDimensions(T_c=-1.0)
    s = ScalingDimensions(T_c=5.0, temperature=None)
    assert s.pick(np.array([4.0, 4.9, 6.0])) == 1
    assert ScalingDimensions().T_c == pytest.approx(T_C)


def test_dict_arguments_are_type_checked():
    check_config(compose_config(["analysis.scaling.exact={sigma: 0.25}"]))
    with pytest.raises(ConfigError, match="analysis.scaling.exact must be"):
        check_config(compose_config(["analysis.scaling.exact={sigma: abc}"]))


class _Stack:
    def __init__(self, hidden):
        self.rbms = [type("R", (), {"n_hidden": h})() for h in hidden]

    @classmethod
    def single(cls, n_hidden: int):
        """A one-RBM model: its only layer is itself."""
        model = cls([])
        model.n_hidden, model.rbms = n_hidden, [model]
        return model


def test_coarse_sizes_cover_rg_steps_and_square_layers():
    rg = BlockSpinRG(b=2, rule="average", n_steps=3)
    assert coarse_sizes((64, 64), rg, _Stack.single(49)) == [32, 16, 8]
    assert coarse_sizes((32, 32), BlockSpinRG(b=2, rule="average", n_steps=1), _Stack([256, 64, 60])) == [16, 8]
    assert coarse_sizes((8, 8), BlockSpinRG(b=2, rule="average", n_steps=2), _Stack.single(49)) == [4]  # 2×2 dropped
    assert coarse_sizes((64,), rg, _Stack.single(49)) == []


def test_criticality_refuses_too_few_samples_before_any_work():
    from rgexp.analysis import Criticality

    with pytest.raises(ValueError, match=r"^n_samples must be >= 200, got 150$"):
        Criticality(sizes=[8, 16, 32], n_samples=150)  # critical_point needs 20 jackknife blocks of >= 10
    assert Criticality(sizes=[8, 16, 32], n_samples=200).n_samples == 200
    with pytest.raises(ConfigError, match=r"analysis\.criticality\.n_samples must be >= 200"):
        from rgexp.pipeline import validate

        validate(compose_config(["experiment=long_range", "analysis.criticality.n_samples=150"]))
