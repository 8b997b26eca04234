"""The registries: exact values (rgexp.constants) against their defining equations, the YAML's
``${exact:...}`` resolver, and each exact value and step label written in one module only."""

from __future__ import annotations

import math
import re

import pytest
from omegaconf import OmegaConf

from rgexp.analysis.labels import STEP_LABELS, step_label
from rgexp.constants import CHAIN_1D, ISING_2D, SIGMA_STAR_2D, T_C, exact, long_range
from tests.conftest import ROOT, compose_config

SRC = ROOT / "src" / "rgexp"
PENDING: set[str] = set()  # modules (relative to SRC) not yet moved to the one home of their values


def test_onsager_T_c_solves_the_self_duality_condition():
    # Kramers–Wannier / Onsager: sinh(2K_c) = 1, equivalently e^(−2K_c) = tanh K_c, K_c = 1/T_c
    K = 1.0 / ISING_2D.T_c
    assert math.sinh(2 * K) == pytest.approx(1.0, rel=1e-15)
    assert math.exp(-2 * K) == pytest.approx(math.tanh(K), rel=1e-15)
    assert T_C is ISING_2D.T_c


def test_2d_ising_dimensions_follow_from_the_exponents():
    # hyperscaling in d = 2: Δ_σ = β/ν, Δ_ε = d − 1/ν; the CFT's σ has h = 1/16 (Δ = 2h)
    assert ISING_2D.delta_sigma == ISING_2D.beta / ISING_2D.nu == 2 * (1 / 16)
    assert ISING_2D.delta_epsilon == 2 - 1 / ISING_2D.nu
    assert CHAIN_1D.T_c == 0.0 and CHAIN_1D.K_star == 0.0


@pytest.mark.parametrize("d", [1, 2])
def test_long_range_delta_sigma_by_regime(d):
    # mean field below σ = d/2 (d/4), η = 2 − σ above, continuous at σ = d/2
    assert long_range(0.9 * d / 2, d).delta_sigma == d / 4
    assert long_range(d / 2, d).delta_sigma == pytest.approx(d / 4)
    sigma = 0.75 if d == 1 else 1.25
    assert long_range(sigma, d).delta_sigma == (d - sigma) / 2
    with pytest.raises(ValueError, match="sigma must"):
        long_range(SIGMA_STAR_2D if d == 2 else 1.0, d)


def test_long_range_joins_the_short_range_class_beyond_sigma_star():
    assert long_range(1.9, 2).delta_sigma == ISING_2D.delta_sigma
    assert (2 - SIGMA_STAR_2D) / 2 == ISING_2D.delta_sigma  # σ_* = 2 − η_SR: the regimes meet


def test_the_resolver_gives_the_registry_values_and_refuses_unknown_names():
    assert exact("ising2d.T_c") == T_C and exact("long_range.delta_sigma", 1.25, 2) == 0.375
    for bad, message in [("ising3d.T_c", "unknown model 'ising3d'"), ("ising2d.eta", "has no exact value"),
                         ("chain1d.delta_sigma", "has no exact value; known for chain1d: T_c, K_star")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            exact(bad)


def test_presets_read_the_registry():
    cfg = compose_config(["experiment=temperature_flow"])
    assert T_C in cfg.sampler.temperatures and cfg.train_temperatures == [T_C]
    assert OmegaConf.to_container(cfg.analysis.scaling.exact, resolve=True) == {"sigma": 0.125, "epsilon": 1.0}
    lr = compose_config(["experiment=long_range", "sampler.sigma=1.5"])
    assert lr.analysis.scaling.exact.sigma == 0.25  # (2 − σ)/2 follows the sampler's σ


def test_step_labels():
    assert [step_label(f) for f in ("flow", "rg", "stack", "flow_binned", "variational", "other")] == [
        "flow length", "RG step", "stacked-RBM layer", "flow length", "RG step", "step"]


def _sources() -> list:
    return [p for p in SRC.rglob("*") if p.suffix in (".py", ".yaml")
            and str(p.relative_to(SRC)) not in PENDING]


def test_each_exact_value_and_label_is_written_in_one_module():
    t_c = re.compile(r"2\.2691853|log1p\(math\.sqrt\(2|log\(1 \+ (math|np)\.sqrt\(2")
    labels = re.compile("|".join(re.escape(f'"{label}"') for label in set(STEP_LABELS.values())))
    for path in _sources():
        text = path.read_text()
        if path.name != "constants.py":
            assert not t_c.search(text), f"{path} writes T_c"
        if path.name != "labels.py":
            assert not labels.search(text), f"{path} writes a step label"
