"""Public API of the 2D samplers: shapes, seeding, diagnostics, bad inputs, the config contract."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import numpy as np

from rgexp.seeding import keyed_stream
import pytest
from omegaconf import OmegaConf

from rgexp.ising import Ising2DSampler, IsingData, T_C, sample_ising2d, simulate_ising2d
from rgexp.ising.sampler import PILOT_FACTOR

ALGORITHMS = ["wolff", "swendsen_wang", "metropolis"]
CONF = Path(__file__).resolve().parents[2] / "src" / "rgexp" / "conf" / "sampler"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_shape_dtype_values_and_reproducibility(algorithm):
    a = sample_ising2d(8, 2.5, 50, algorithm=algorithm, seed=3)
    b = sample_ising2d(8, 2.5, 50, algorithm=algorithm, seed=np.random.SeedSequence(3))
    c = sample_ising2d(8, 2.5, 50, algorithm=algorithm, seed=4)
    assert a.shape == (50, 8, 8) and a.dtype == np.int8
    assert set(np.unique(a)) <= {-1, 1}
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_both_magnetization_signs_below_tc(algorithm):
    spins = sample_ising2d(16, 1.5, 200, algorithm=algorithm, seed=1)
    m = spins.mean(axis=(1, 2))
    assert np.all(np.abs(m) > 0.8)
    assert 60 < np.sum(m > 0) < 140  # Binomial(200, 1/2): 5.7 standard deviations either side


def test_info_diagnostics():
    spins, info = simulate_ising2d(12, T_C, 300, seed=2)
    for key in ("tau_int_absm", "tau_int_energy", "tau_int_absm_sweeps", "tau_int_energy_sweeps",
                "n_eff", "thin", "n_thermalize", "n_pilot", "tau_reliable", "cluster_flips_per_sweep"):
        assert key in info
    assert info["thin"] == max(1, int(np.ceil(2 * max(info["tau_int_absm_sweeps"], info["tau_int_energy_sweeps"]))))
    assert info["n_thermalize"] >= PILOT_FACTOR * max(info["tau_int_absm_sweeps"], info["tau_int_energy_sweeps"])
    assert info["n_eff"] == pytest.approx(300 / (2 * max(info["tau_int_absm"], info["tau_int_energy"])))
    assert info["tau_reliable"] and info["tau_int_absm"] < 1.0  # thinned samples nearly independent
    # A Wolff sweep flips L² spins on average
    assert info["cluster_flips_per_sweep"] * info["mean_cluster_size"] == pytest.approx(144, rel=0.3)


def test_explicit_thin_and_thermalization():
    _, info = simulate_ising2d(6, 3.0, 20, algorithm="metropolis", thin=3, n_thermalize=10, seed=0)
    assert info["thin"] == 3 and info["n_thermalize"] == 10 and info["n_pilot"] == 0
    assert np.isnan(info["tau_int_absm_sweeps"])
    _, info = simulate_ising2d(6, 3.0, 20, algorithm="wolff", thin=2, n_thermalize=0, seed=0)
    assert info["thin"] == 2 and info["n_thermalize"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(L=1), "^L must be an integer >= 2"),
        (dict(L=4.0), "^L must be an integer >= 2"),
        (dict(T=0.0), "^temperatures must"),
        (dict(T=float("nan")), "^temperatures must"),
        (dict(n_samples=0), "^n_samples must"),
        (dict(algorithm="heatbath"), "^algorithm must be one of"),
        (dict(h=0.1), "^h must be 0 for algorithm='wolff'"),
        (dict(h=0.1, algorithm="swendsen_wang"), "^h must be 0 for algorithm='swendsen_wang'"),
        (dict(J=float("inf")), "^J must be a finite number"),
        (dict(thin=0), "^thin must be None or an integer >= 1"),
        (dict(n_thermalize=-1), "^n_thermalize must be None or an integer >= 0"),
    ],
)
def test_bad_inputs(kwargs, message):
    args = dict(L=4, T=2.0, n_samples=5)
    args.update(kwargs)
    L, T, n = args.pop("L"), args.pop("T"), args.pop("n_samples")
    with pytest.raises(ValueError, match=message):
        sample_ising2d(L, T, n, **args)


def test_bad_seed():
    with pytest.raises(ValueError, match="^seed"):
        sample_ising2d(4, 2.0, 5, seed=-1)


# ---- the config-instantiated class -----------------------------------------------------------


def test_sampler_init_contract():
    hints = typing.get_type_hints(Ising2DSampler.__init__)
    params = [p for p in inspect.signature(Ising2DSampler.__init__).parameters if p != "self"]
    assert params == ["L", "temperatures", "n_samples", "algorithm", "J", "h", "n_thermalize", "thin"]
    assert all(p in hints for p in params)
    assert typing.get_origin(hints["algorithm"]) is typing.Literal
    assert set(typing.get_args(hints["algorithm"])) == set(ALGORITHMS)
    s = Ising2DSampler(L=6, temperatures=[1.0, 2.0], n_samples=3)
    assert s.lattice_shape == (6, 6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(L=-4), "L must be an integer >= 2, got -4"),
        (dict(temperatures=[0.0, 1.0]), "temperatures must be a non-empty list of finite numbers > 0, got [0.0, 1.0]"),
        (dict(temperatures=[]), "temperatures must"),
        (dict(n_samples=-1), "n_samples must"),
        (dict(algorithm="glauber"), "algorithm must"),
        (dict(h=0.5), "h must be 0"),
        (dict(thin=0), "thin must"),
        (dict(n_thermalize=2.5), "n_thermalize must"),
    ],
)
def test_sampler_init_errors_start_with_the_name(kwargs, message):
    args = dict(L=6, temperatures=[2.0], n_samples=3)
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        Ising2DSampler(**args)
    text = str(err.value)
    assert text.startswith(message) and "\n" not in text


def test_sampler_init_does_no_work(monkeypatch):
    import rgexp.ising.sampler as mod

    def boom(*a, **k):
        raise AssertionError("__init__ must not simulate")

    monkeypatch.setattr(mod, "_simulate_chains", boom)
    Ising2DSampler(L=64, temperatures=list(np.linspace(0.1, 6, 60)), n_samples=10**6)


def test_sampler_streams_are_per_temperature_and_pure():
    seed = np.random.SeedSequence(5)
    sampler = Ising2DSampler(L=6, temperatures=[1.8, 3.0], n_samples=30, algorithm="metropolis")
    data = sampler.sample(seed)
    again = sampler.sample(seed, progress=True)  # same seed object again, batched by threads
    assert isinstance(data, IsingData)
    assert data.spins.shape == (2, 30, 6, 6) and data.lattice_shape == (6, 6)
    assert np.array_equal(data.spins, again.spins)
    for i, T in enumerate([1.8, 3.0]):  # one stream per T, keyed by its value
        alone = sample_ising2d(6, T, 30, algorithm="metropolis", seed=keyed_stream(np.random.SeedSequence(5), T))
        assert np.array_equal(data.spins[i], alone)
        assert data.info[i]["T"] == T
    wider = Ising2DSampler(L=6, temperatures=[1.0, 3.0, 1.8], n_samples=30, algorithm="metropolis")
    assert np.array_equal(wider.sample(seed).spins[[2, 1]], data.spins)  # a new T anywhere changes nothing


@pytest.mark.parametrize("name", ["wolff", "swendsen_wang", "metropolis"])
def test_config_files_instantiate(name):
    from hydra.utils import instantiate

    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    assert cfg.algorithm == name
    cfg.n_samples = 5
    sampler = instantiate(cfg)
    assert isinstance(sampler, Ising2DSampler) and sampler.algorithm == name
    data = sampler.sample(np.random.SeedSequence(0))
    assert data.spins.shape == (len(cfg.temperatures), 5, cfg.L, cfg.L)
    np.testing.assert_array_equal(data.temperatures, list(cfg.temperatures))


def test_single_sample_has_undefined_tau():
    spins, info = simulate_ising2d(6, 2.3, 1, seed=0)
    assert spins.shape == (1, 6, 6) and info["n_eff"] == 1.0 and np.isnan(info["tau_int_absm"])
