"""The metric-name contract (:mod:`rgexp.metric_names`) and everything that reads it.

Every pattern the report (references, trends, scorecard claims) and the run summary read must match
a metric that a real run logs, and every claim must give a reading on some run: a writer that renames
a metric fails here instead of turning the report's verdicts silently "inconclusive".

The runs: the smoke preset, and the presets whose stages the other claims need (rbm_flow: binned
flow, fixed point, Monte Carlo baseline, Δ at extra temperatures; long_range: criticality and a
stack read by thermometers; ising1d_fixed_point: 1D couplings), each shrunk to seconds and logged
into memory (no MLflow).
"""

from __future__ import annotations

import re

import pytest
from omegaconf import OmegaConf

from rgexp import metric_names as mn
from rgexp.pipeline import run_stages
from rgexp.report.build import main_metrics
from rgexp.report.collect import Group
from rgexp.report.names import is_diagnostic
from rgexp.report.readings import Reading, read
from rgexp.report.references import REFERENCES, TRENDS, model_of
from rgexp.report.scorecard import CLAIMS, Claim
from rgexp.summary import HEADLINES, headline_regex
from rgexp.tracking import MemoryRun, RunRecord, flatten
from tests.conftest import compose_config

RUNS = {
    "smoke": ["sampler.n_samples=60", "model.train.epochs=1", "flow.n_steps=2", "flow.n_samples=40",
              "analysis.thermometer.epochs=1", "analysis.scaling.n_boot=5", "analysis.receptive.n_samples=60",
              "analysis.receptive.n_units=2"],
    "rbm_flow": ["sampler.temperatures=[1.0,1.8,2.0,2.1,2.2,2.3,2.5,3.5]", "sampler.n_samples=60",
                 "model.train.epochs=1", "flow.n_steps=2", "flow.n_samples=40", "analysis.thermometer.epochs=1",
                 "analysis.scaling.n_boot=5", "analysis.receptive=null", "analysis.binned.n_boot=5",
                 "analysis.binned.min_count=10", "analysis.fixed_point.n_points=2",
                 "analysis.fixed_point.n_samples=20", "analysis.fixed_point.n_steps=2",
                 "analysis.fixed_point.drift_steps=1"],
    "long_range": ["sampler.L=8", "model.layers=[64,16,4]", "analysis.criticality.sizes=[4,6,8]",
                   "analysis.criticality.n_samples=200", "sampler.n_samples=40", "model.train.epochs=1",
                   "flow.n_steps=1", "flow.n_samples=20", "analysis.thermometer.epochs=1",
                   "analysis.thermometer.n_samples=20", "analysis.scaling.n_boot=5", "analysis.receptive=null",
                   "rg.n_steps=1"],
    "ising1d_fixed_point": ["sampler.N=16", "model.layers=[16,8,4]", "sampler.n_samples=100", "model.train.epochs=1",
                            "flow.n_steps=1", "flow.n_samples=20", "rg.n_steps=2"],
}

# Claims that no run of any preset can read, and why (a claim listed here that starts to give a
# reading fails the test: take it off the list).
UNREADABLE: dict[str, str] = {
    "ref_mc_tc": "mc/T_c is measured by analysis.criticality, long range only; its reference, Onsager's T_c, "
                 "is the 2D nearest-neighbour model's",
}


@pytest.fixture(scope="module")
def runs(shared_root) -> dict[str, RunRecord]:
    """Each shrunk preset run once into memory, as the report reads a run back."""
    out = {}
    for preset, overrides in RUNS.items():
        cfg = compose_config([f"experiment={preset}", "progress=false", f"tracking.root={shared_root / 'mlruns'}",
                              f"cache.directory={shared_root / 'cache'}", *overrides])
        memory = MemoryRun()
        run_stages(cfg, memory)
        params = flatten(OmegaConf.to_container(cfg, resolve=True))  # as rgexp.pipeline.run logs them
        out[preset] = RunRecord(memory.run_id, preset, preset, "FINISHED", params, {},
                                {k: v for k, (_, v) in memory.latest.items()},
                                {k: memory.history(k) for k in memory.metrics})
    return out


def _logged(runs: dict[str, RunRecord]) -> set[str]:
    return {name for r in runs.values() for name in r.final}


# ---------------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("name,role,expected", [
    ("flow/temperature/T1.5000", mn.ERR, "flow/temperature_err/T1.5000"),
    ("flow/temperature/Tinf", mn.ERR, "flow/temperature_err/Tinf"),
    ("receptive/RBM/radius", mn.ERR, "receptive/RBM/radius_err"),
    ("mc/delta_sigma/L10/T2.2692", mn.CI_LOW, "mc/delta_sigma_ci_low/L10/T2.2692"),
    ("flow/delta_sigma", mn.CI_HIGH, "flow/delta_sigma_ci_high"),
    ("rg/coupling/T1.0000", mn.EXACT, "rg/coupling_exact/T1.0000"),
    ("thermometer/L4/final/accuracy", mn.CI_LEVEL, "thermometer/L4/final/accuracy_ci_level"),
    ("mc/T_c", mn.ERR, "mc/T_c_err"),  # T_c is an observable, not a temperature qualifier
])
def test_one_companion_rule(name, role, expected):
    assert mn.companion(name, role) == expected
    assert mn.parse_companion(expected) == (name, role)
    assert mn.parse_companion(name) is None


def test_constructors_and_parsers_agree():
    assert mn.metric("flow", "temperature", T=1.5) == "flow/temperature/T1.5000"
    assert mn.metric("flow", "temperature", T=float("inf")) == "flow/temperature/Tinf"
    assert mn.metric("mc", "delta_sigma", L=10, T=2.269185) == "mc/delta_sigma/L10/T2.2692"
    assert mn.split_start(mn.metric("flow", "temperature", T=0.0)) == ("flow/temperature", "0.0000")
    assert mn.split_start("flow/delta_sigma") == ("flow/delta_sigma", None)
    assert all(re.fullmatch(mn.START, mn.format_temperature(t)) for t in (1.5, 0.0, float("inf"), -2.0, 1e-6))
    # iso_flow's grid point T = 1e-6 and its ordered start T = 0 are two flows: two names, both parsed back
    assert mn.metric("flow", "temperature", T=1e-6) == "flow/temperature/T1e-06"
    assert mn.split_start("flow/temperature/T1e-06") == ("flow/temperature", "1e-06")
    assert mn.split_start("flow/temperature_err/T1.234e-05") == ("flow/temperature_err", "1.234e-05")
    assert mn.companion("flow/temperature/T1e-06", mn.ERR) == "flow/temperature_err/T1e-06"
    assert mn.with_companions("a/b/T1.0000", 1.0, err=0.1, ci_low=None) == {"a/b/T1.0000": 1.0,
                                                                           "a/b_err/T1.0000": 0.1}
    with pytest.raises(ValueError, match="unknown companion role"):
        mn.companion("a/b", "error")
    assert mn.is_scaling_dimension("flow_binned/delta_epsilon_plane/T2.3000")
    assert mn.is_scaling_dimension("mc/delta_sigma/L10/T2.2692") and not mn.is_scaling_dimension("flow/temperature/T2.0000")


def test_estimates_log_as_value_and_companions_and_legacy_names_still_read():
    from rgexp.stats import Estimate

    logged = mn.estimate_metrics("thermometer/final/accuracy", Estimate(0.5, 0.01, 0.48, 0.52, 0.9, n_eff=100.0))
    assert logged == {"thermometer/final/accuracy": 0.5, "thermometer/final/accuracy_err": 0.01,
                      "thermometer/final/accuracy_ci_low": 0.48, "thermometer/final/accuracy_ci_high": 0.52,
                      "thermometer/final/accuracy_ci_level": 0.9, "thermometer/final/accuracy_n_eff": 100.0}
    assert mn.companions_of("thermometer/final/accuracy", logged) == {
        role: mn.companion("thermometer/final/accuracy", role) for role in (mn.ERR, mn.CI_LOW, mn.CI_HIGH,
                                                                            mn.CI_LEVEL, mn.N_EFF)}
    assert mn.hidden_companions(logged) == set(logged) - {"thermometer/final/accuracy"}
    # runs logged before the contract: X_value with X_error, X_ci_low, …
    old = {"thermometer/final/accuracy_value", "thermometer/final/accuracy_error", "thermometer/final/accuracy_ci_low"}
    assert mn.companions_of("thermometer/final/accuracy_value", old) == {
        mn.ERR: "thermometer/final/accuracy_error", mn.CI_LOW: "thermometer/final/accuracy_ci_low"}
    assert mn.hidden_companions(old) == old - {"thermometer/final/accuracy_value"}


# -------------------------------------------------------------- the writers against the readers
def test_every_companion_logged_belongs_to_a_logged_metric(runs):
    """A companion built by hand with its suffix in the wrong place would be an orphan here."""
    for preset, run in runs.items():
        names = set(run.final)
        orphans = sorted(n for n in names if not is_diagnostic(n)
                         and (p := mn.parse_companion(n)) is not None and p[0] not in names)
        assert not orphans, (preset, orphans)


def test_every_reference_pattern_matches_a_logged_metric(runs):
    logged = _logged(runs)
    for ref in REFERENCES:
        matching = [n for n in logged if re.fullmatch(ref.pattern, n)]
        assert matching, f"reference {ref.key!r}: no logged metric matches {ref.pattern!r}"
        if ref.reference_metric is not None:  # the metric it compares with is logged beside it
            assert any(ref.reference_metric(n, r.final.keys()) is not None
                       for r in runs.values() for n in r.final if re.fullmatch(ref.pattern, n)), ref.key


def test_every_trend_pattern_matches_a_metric_of_its_model(runs):
    for trend in TRENDS:
        logged = {n for r in runs.values() if model_of(r.params) in trend.models for n in r.final}
        assert any(re.fullmatch(trend.pattern, n) for n in logged), (
            f"trend {trend.key!r} ({', '.join(trend.models)}): no logged metric matches {trend.pattern!r}")


def test_every_summary_headline_matches_a_logged_metric(runs):
    logged = _logged(runs)
    for label, pattern in HEADLINES:
        assert any(headline_regex(pattern).fullmatch(n) for n in logged), f"{label!r}: nothing matches {pattern!r}"


@pytest.fixture(scope="module")
def readings(runs) -> dict[Claim, list[tuple[str, Reading]]]:
    """Claim -> (preset, its reading) for every run the claim gives a reading on."""
    out: dict[Claim, list[tuple[str, Reading]]] = {}
    for preset, run in runs.items():
        group, names = Group("all runs", tuple(sorted(run.params.items())), [run]), main_metrics([run])
        for claim in CLAIMS:
            if (reading := read(claim, group, names, 0.95, 1)) is not None:
                out.setdefault(claim, []).append((preset, reading))
    return out


def test_every_scorecard_claim_reads_some_run(readings):
    """Each claim (source, estimator) gives a reading on at least one run: its metrics were logged
    under the names it reads."""
    unread = [(c.key, c.estimator, c.pattern) for c in CLAIMS if c not in readings]
    assert sorted(key for key, _, _ in unread) == sorted(UNREADABLE), unread


def test_what_the_claims_read_carries_its_error(runs, readings):
    """Every metric a claim reads has an ``_err`` or a ``_ci_low``/``_ci_high`` pair, found by the one
    rule (but the exact variational construction)."""
    for claim, found in readings.items():
        for preset, reading in found:
            for name in reading.metrics:
                roles = mn.companions_of(name, runs[preset].final.keys())
                assert (mn.ERR in roles or {mn.CI_LOW, mn.CI_HIGH} <= set(roles)
                        or name.startswith("variational/")), (claim.key, preset, name, roles)
