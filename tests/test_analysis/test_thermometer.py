"""The neural thermometer against exact physics.

The Bayes bound: the Ising energy is a sufficient statistic for T, so with a uniform prior over
the n_T classes the Bayes-optimal thermometer reads E only, and its accuracy
B = (1/n_T) Σ_E max_k P_k(E) follows exactly from enumerating the 2^16 states of a 4×4 torus.
Training data are drawn i.i.d. from the exact Boltzmann distributions (no Monte Carlo), so the
held-out set is independent of the training set and every bound below is a statistical
statement with a derived tolerance, not a guess.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from rgexp.analysis.thermometer import TemperatureReading, Thermometer, measure_temperatures, sample_spins
from rgexp.analysis.thermometer_training import NeuralThermometer, train_thermometer
from rgexp.analysis.thermometer_figures import plot_confusion, plot_temperature_histograms
from rgexp.ising import enumerate_states, exact_distribution
from rgexp.ising.data import IsingData

L = 4
# Four well-separated temperatures: the Bayes decision has clear margins at the energy levels
# that carry the mass, so a good-but-imperfect thermometer lands close to B (see C_POSTERIOR).
TEMPS = (1.0, 2.0, 3.5, 6.0)
N_PER_T = 20_000  # data-limited below ~10^4 per class (a 4×4 net memorises states otherwise)
# Allowed relative error of the thermometer's class probabilities: within a factor 1.2 of the
# exact posterior at every state. It can then only pick a class whose exact posterior is within
# c² of the best one; the worst-case accuracy lost that way is computed exactly (delta_posterior).
C_POSTERIOR = 1.2


@pytest.fixture(scope="module")
def exact():
    """States (2^16, 4, 4), per-class state probabilities (n_T, 2^16), bond sums (2^16,)."""
    states = enumerate_states(L)
    probs = np.array([exact_distribution(L, t)[2] for t in TEMPS])
    bonds = exact_distribution(L, TEMPS[0])[0]
    return states, probs, bonds


def _level_probs(probs: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """P_k(E): (n_T, n_levels) probability of each energy level at each temperature."""
    _, inv = np.unique(bonds, return_inverse=True)
    return np.array([np.bincount(inv, weights=p) for p in probs])


def bayes_accuracy(pk: np.ndarray) -> float:
    """Exact accuracy of argmax_k P_k(E) under a uniform prior over classes."""
    return float(pk.max(axis=0).sum() / pk.shape[0])


def bayes_within_one(pk: np.ndarray) -> float:
    """Exact best within-one-class accuracy: per level pick k maximising Σ_{|j-k|<=1} P_j(E)."""
    k = pk.shape[0]
    window = np.array([pk[max(0, i - 1):i + 2].sum(axis=0) for i in range(k)])
    return float(window.max(axis=0).sum() / k)


def conditional_entropy(probs: np.ndarray) -> float:
    """H(class | state) in nats = the least expected cross-entropy any thermometer can reach."""
    post = probs / probs.sum(axis=0)
    mask = probs > 0
    return float(-(probs[mask] * np.log(post[mask])).sum() / probs.shape[0])


def delta_posterior(pk: np.ndarray, c: float) -> float:
    """Worst accuracy lost when, per level, any class with P_k(E) >= max P(E) / c² may be chosen."""
    top = pk.max(axis=0)
    allowed = np.where(pk * c * c >= top, pk, np.inf)
    return float((top - allowed.min(axis=0)).sum() / pk.shape[0])


def exact_samples(probs: np.ndarray, states: np.ndarray, n: int, seed: int) -> IsingData:
    rng = np.random.default_rng(seed)
    spins = np.stack([states[rng.choice(p.size, size=n, p=p)] for p in probs])
    return IsingData(spins, np.array(TEMPS))


@pytest.fixture(scope="module")
def trained(exact):
    states, probs, _ = exact
    data = exact_samples(probs, states, N_PER_T, seed=2024)
    result = train_thermometer(data, epochs=10, batch_size=200, lr=3e-3,
                               generator=torch.Generator().manual_seed(7))
    return data, result


def test_bayes_bound_held_out_accuracy(exact, trained):
    """B - delta(c) - 3 SE <= held-out accuracy <= B + 3 SE; same sandwich for exact accuracy."""
    states, probs, bonds = exact
    _, result = trained
    pk = _level_probs(probs, bonds)
    b, n = bayes_accuracy(pk), result.confusion.sum()
    # Stratified test set: accuracy = mean of per-class binomials, whose variance is at most the
    # binomial p(1-p)/n — so 3 SE at p = B is a conservative 3-sigma band.
    se = np.sqrt(b * (1 - b) / n)
    allowance = delta_posterior(pk, C_POSTERIOR)
    assert 0.005 < allowance < 0.02  # the margin stays small for this grid (0.0087)
    acc = result.accuracy.value
    assert acc <= b + 3 * se, (acc, b, se)
    assert acc >= b - allowance - 3 * se, (acc, b, allowance, se)
    # The exact accuracy of the trained net over all 2^16 states (no sampling noise) can never
    # exceed B, and the held-out number is a binomial sample of it (the test set took no part in
    # training or model selection). Six seeds gave 0.582-0.584 against B = 0.5881.
    with torch.no_grad():
        pred = result.model(torch.from_numpy(states)).argmax(dim=1).numpy()
    acc_exact = float(np.mean([probs[k][pred == k].sum() for k in range(len(TEMPS))]))
    assert acc_exact <= b + 1e-12
    assert abs(acc - acc_exact) <= 3 * se
    # The reported error is the binomial one of the measured value.
    assert result.accuracy.error == pytest.approx(np.sqrt(acc * (1 - acc) / n))
    assert result.accuracy.ci_low < acc < result.accuracy.ci_high


def test_bayes_bound_within_one_and_cross_entropy(exact, trained):
    """Within-one accuracy <= its Bayes optimum; held-out cross-entropy >= H(class | state)."""
    _, probs, bonds = exact
    _, result = trained
    pk = _level_probs(probs, bonds)
    n = result.confusion.sum()
    b1 = bayes_within_one(pk)
    assert result.within_one_accuracy.value <= b1 + 3 * np.sqrt(b1 * (1 - b1) / n)
    assert result.within_one_accuracy.value >= result.accuracy.value
    h = conditional_entropy(probs)
    assert result.test_loss.value >= h - 3 * result.test_loss.error
    assert result.test_loss.value < np.log(len(TEMPS))  # it learned something
    assert [set(e) for e in result.history] == [
        {"train_loss", "test_loss", "test_accuracy", "test_within_one"}] * 10


def test_reading_of_one_temperature_matches_confusion_row(trained):
    """Held-out data of class k: the mode is k or next to it, and counts equal the confusion row."""
    data, result = trained
    x, _ = data.flat()
    n_s = data.spins.shape[1]
    for k in range(len(TEMPS)):
        idx = result.test_index[(result.test_index // n_s) == k]
        reading = measure_temperatures(result.model, x[idx].reshape(-1, L, L))
        assert abs(int(np.argmax(reading.counts)) - k) <= 1
        np.testing.assert_array_equal(reading.counts, result.confusion[k])
        assert reading.probabilities.sum() == pytest.approx(1.0)
        assert reading.mean_temperature.value == pytest.approx(
            float(reading.fractions @ reading.temperatures))
    # Flat (n, L²) input reads the same as (n, L, L).
    flat = measure_temperatures(result.model, x[result.test_index[:50]])
    square = measure_temperatures(result.model, x[result.test_index[:50]].reshape(-1, L, L))
    np.testing.assert_array_equal(flat.predicted, square.predicted)


def test_sample_mode_preserves_mean_input():
    """E[sample_spins(x)] = x: |mean - x| <= 4 sqrt((1 - x²)/n) per value; ±1 unchanged."""
    values = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    n = 20_000
    draws = sample_spins(values.repeat(n, 1), torch.Generator().manual_seed(3))
    assert set(draws.unique().tolist()) <= {-1.0, 1.0}
    tol = 4 * torch.sqrt((1 - values**2) / n)
    assert torch.all((draws.mean(dim=0) - values).abs() <= tol)
    assert torch.equal(draws[:, 0], -torch.ones(n)) and torch.equal(draws[:, -1], torch.ones(n))


def test_sample_mode_on_spins_equals_as_is_and_needs_generator():
    model = Thermometer((L, L), TEMPS, hidden=8, generator=torch.Generator().manual_seed(0))
    spins = torch.where(torch.rand(64, L, L, generator=torch.Generator().manual_seed(1)) < 0.5, -1, 1)
    a = measure_temperatures(model, spins)
    s = measure_temperatures(model, spins, real_inputs="sample", generator=torch.Generator().manual_seed(2))
    np.testing.assert_array_equal(a.predicted, s.predicted)
    np.testing.assert_allclose(a.probabilities, s.probabilities)
    with pytest.raises(ValueError, match="needs a torch.Generator"):
        measure_temperatures(model, spins * 0.5, real_inputs="sample")
    with pytest.raises(ValueError, match="values in \\[-1, 1\\]"):
        measure_temperatures(model, spins * 2.0)


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 2, 8), (5, 64), (5, L)])
def test_shape_mismatch_refused(shape):
    model = Thermometer((L, L), TEMPS, hidden=8)
    with pytest.raises(ValueError, match="one thermometer per lattice size"):
        measure_temperatures(model, torch.ones(shape))


@pytest.mark.parametrize(
    "name, value",
    [("epochs", 0), ("hidden", 0), ("batch_size", 0), ("lr", 0.0), ("lr", float("nan")),
     ("optimizer", "rmsprop"), ("weight_decay", -1.0), ("train_fraction", 1.0),
     ("train_fraction", 0), ("real_inputs", "round"), ("epochs", 2.5), ("epochs", True)],
)
def test_bad_hyperparameters(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be .*, got {value!r}"):
        NeuralThermometer(**{name: value})
    if name != "real_inputs":
        data = IsingData(np.ones((2, 10, L, L), dtype=np.int8), np.array([1.0, 2.0]))
        with pytest.raises(ValueError, match=f"^{name} must be"):
            train_thermometer(data, **{name: value}, generator=torch.Generator())


def _small_data(exact, seed: int = 5) -> IsingData:
    states, probs, _ = exact
    return exact_samples(probs, states, 150, seed=seed)


def test_reproducible_and_tuple_input_equivalent(exact):
    """Same generator seed → bitwise identical model; (configs, T) input ≡ IsingData input, with
    configurations as int8 spins or as floats."""
    data = _small_data(exact)
    cfg = NeuralThermometer(hidden=16, epochs=2, batch_size=32)
    logged = []
    a = cfg.fit(data, torch.Generator().manual_seed(11), log=lambda step, m: logged.append(step))
    b = cfg.fit(data, torch.Generator().manual_seed(11))
    x, t = data.flat()
    c = train_thermometer((x.reshape(-1, L, L), t), hidden=16, epochs=2, batch_size=32,
                          generator=torch.Generator().manual_seed(11))
    # float configurations (converted whole) train as int8 ones (kept int8, converted per batch)
    e = train_thermometer((x.astype(np.float64), t), hidden=16, epochs=2, batch_size=32,
                          generator=torch.Generator().manual_seed(11))
    d = cfg.fit(data, torch.Generator().manual_seed(12))
    for other in (b, c, e):
        for (k, v), w in zip(a.model.state_dict().items(), other.model.state_dict().values()):
            assert torch.equal(v, w), k
        np.testing.assert_array_equal(a.test_index, other.test_index)
    assert not torch.equal(a.model.hidden_layer.weight, d.model.hidden_layer.weight)
    assert logged == [1, 2]
    assert a.confusion.sum() == len(a.test_index) == 4 * 60  # stratified 60/40 of 150 per class
    # A state-dict round trip through a zero shell reproduces the model.
    shell = Thermometer((L, L), TEMPS, hidden=16)
    shell.load_state_dict(a.model.state_dict())
    assert torch.equal(shell(torch.ones(3, L, L)), a.model(torch.ones(3, L, L)))


def test_global_rng_untouched(exact):
    state = torch.random.get_rng_state()
    cfg = NeuralThermometer(hidden=8, epochs=1, batch_size=64)
    cfg.fit(_small_data(exact), torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.random.get_rng_state())


def test_figures(exact):
    result = NeuralThermometer(hidden=8, epochs=1).fit(_small_data(exact), torch.Generator().manual_seed(0))
    x, _ = _small_data(exact, seed=6).flat()
    readings: dict[str, TemperatureReading] = {
        f"step {i}": measure_temperatures(result.model, x[i * 100:(i + 1) * 100]) for i in range(3)}
    for fig in (plot_confusion(result), plot_temperature_histograms(readings, T_c=2.269),
                plot_temperature_histograms(readings, T_c=2.269, kind="heatmap", weights="probabilities")):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)


def test_config_instantiates():
    from hydra.utils import instantiate

    therm = instantiate({"_target_": "rgexp.analysis.thermometer_training.NeuralThermometer", "epochs": 3,
                         "real_inputs": "sample"})
    assert (therm.epochs, therm.real_inputs, therm.hidden) == (3, "sample", 80)


@pytest.mark.slow
def test_bayes_bound_on_monte_carlo_data(exact):
    """The same sandwich on Wolff samples from the real sampler (the pipeline's data path).

    Successive Wolff samples are thinned to ~2 tau_int, so they are close to independent; the
    binomial band assumes they are.
    """
    from rgexp.ising import sample_ising2d

    _, probs, bonds = exact
    pk = _level_probs(probs, bonds)
    spins = np.stack([sample_ising2d(L, t, N_PER_T, seed=100 + i) for i, t in enumerate(TEMPS)])
    result = train_thermometer(IsingData(spins, np.array(TEMPS)), epochs=10, batch_size=200, lr=3e-3,
                               generator=torch.Generator().manual_seed(8))
    b, n = bayes_accuracy(pk), result.confusion.sum()
    se = np.sqrt(b * (1 - b) / n)
    assert b - delta_posterior(pk, C_POSTERIOR) - 3 * se <= result.accuracy.value <= b + 3 * se
    assert result.test_loss.value >= conditional_entropy(probs) - 3 * result.test_loss.error


def test_sign_spins_keeps_signs_and_breaks_ties_evenly():
    from rgexp.analysis.thermometer import sign_spins

    g = torch.Generator().manual_seed(4)
    x = torch.tensor([[-1.0, -0.5, 0.25, 1.0]])
    assert torch.equal(sign_spins(x, g), torch.tensor([[-1.0, -1.0, 1.0, 1.0]]))
    ties = sign_spins(torch.zeros(20000), g)
    assert set(ties.unique().tolist()) == {-1.0, 1.0}
    assert abs(float(ties.mean())) < 4 * (1 / 20000) ** 0.5  # mean of ±1 coins: sd 1/√n


def test_binomial_estimate_is_the_wilson_interval():
    """Wilson's closed form: centre (p + z²/2n)/(1 + z²/n), half-width z√(p(1−p)/n + z²/4n²)/(1 + z²/n)."""
    import math

    from scipy.stats import norm

    from rgexp.analysis.thermometer import binomial_estimate

    for k, n, level in ((37, 120, 0.9), (0, 50, 0.95), (50, 50, 0.9)):
        est = binomial_estimate(k, n, level)
        p, z = k / n, norm.ppf(0.5 + level / 2)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert est.value == p and abs(est.ci_low - (centre - half)) < 1e-12 and abs(est.ci_high - (centre + half)) < 1e-12
        assert est.error == math.sqrt(p * (1 - p) / n)
