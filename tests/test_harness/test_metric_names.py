"""The metric-name contract (:mod:`rgexp.metric_names`) and everything that reads it.

The contract itself: every name shape a run logs (and the legacy thermometer names) parses into a
MetricName and formats back to itself; selectors match by fields. Then the writers against the
readers: every selector the report (the claims of rgexp/report/claims.yaml) and the run summary read
must match a metric that a real run logs, and every claim must give a reading on some run: a writer
that renames a metric fails here instead of turning the report's verdicts silently "inconclusive".

The runs: the smoke preset, and the presets whose stages the other claims need (rbm_flow: binned
flow, fixed point, Monte Carlo baseline, Δ at extra temperatures; long_range: criticality and a
stack read by thermometers; ising1d_fixed_point: 1D couplings), each shrunk to seconds and logged
into memory (no MLflow).
"""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from rgexp import metric_names as mn
from rgexp.metric_names import ANY, OPTIONAL, MetricName, Near, Select
from rgexp.pipeline import run_stages
from rgexp.report.build import main_metrics
from rgexp.report.collect import Group
from rgexp.report.names import is_diagnostic
from rgexp.report.claims import load_claims, model_of
from rgexp.report.judge import Judgment, judge
from rgexp.summary import HEADLINES
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
    "mc_tc": "mc/T_c is measured by analysis.criticality, long range only; its reference there is a published "
             "T_c (rgexp.constants.PUBLISHED_T_C: σ = 1.6 in d = 2, 0.875 in d = 1), not at the preset's σ = 1.25",
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
INF = math.inf
# Every shape of name a run logs (tests/…/RUNS write them all), the legacy ones, and the new censored
# role: the string and the fields it must parse into (stage, observable, path, L, T, role, stage_qualified).
SHAPES = [
    ("flow/temperature/T1.5000", ("flow", "temperature", (), None, 1.5, "value", False)),
    ("flow/temperature_err/T1.5000", ("flow", "temperature", (), None, 1.5, "err", False)),
    ("flow/temperature/Tinf", ("flow", "temperature", (), None, INF, "value", False)),
    ("flow/temperature/T0.0000", ("flow", "temperature", (), None, 0.0, "value", False)),
    ("flow/temperature/T1e-06", ("flow", "temperature", (), None, 1e-6, "value", False)),
    ("flow/temperature_err/T1.234e-05", ("flow", "temperature", (), None, 1.234e-5, "err", False)),
    ("rg/coupling/T-2.0000", ("rg", "coupling", (), None, -2.0, "value", False)),
    ("rg/coupling_exact/T1.0000", ("rg", "coupling", (), None, 1.0, "exact", False)),
    ("flow/delta_sigma", ("flow", "delta_sigma", (), None, None, "value", False)),
    ("flow/delta_sigma_ci_high", ("flow", "delta_sigma", (), None, None, "ci_high", False)),
    ("flow/delta_sigma_censored/T2.3000", ("flow", "delta_sigma", (), None, 2.3, "censored", False)),
    ("flow/delta_sigma_from_m_err", ("flow", "delta_sigma_from_m", (), None, None, "err", False)),
    ("flow_binned_energy/delta_epsilon_plane_ci_low/T2.3000",
     ("flow_binned_energy", "delta_epsilon_plane", (), None, 2.3, "ci_low", False)),
    ("mc/delta_sigma/L10/T2.2692", ("mc", "delta_sigma", (), 10, 2.2692, "value", False)),
    ("mc/delta_sigma_ci_low/L9/T2.2692", ("mc", "delta_sigma", (), 9, 2.2692, "ci_low", False)),
    ("mc/T_c_err", ("mc", "T_c", (), None, None, "err", False)),  # T_c: an observable, not a qualifier
    ("mc/T1.0000/tau_int_absm", ("mc", "tau_int_absm", (), None, 1.0, "value", True)),
    ("mc/T1.0000/n_eff", ("mc", "n_eff", (), None, 1.0, "value", True)),  # the whole leaf: no role
    ("mc/T2.0000/T", ("mc", "T", (), None, 2.0, "value", True)),
    ("receptive/RBM/radius_err", ("receptive", "radius", ("RBM",), None, None, "err", False)),
    ("receptive/RG_average_b2/n_resolved", ("receptive", "n_resolved", ("RG_average_b2",), None, None, "value", False)),
    ("thermometer/final/accuracy_ci_level", ("thermometer", "accuracy", ("final",), None, None, "ci_level", False)),
    ("thermometer/L4/final/test_loss_tau_int", ("thermometer", "test_loss", ("final",), 4, None, "tau_int", True)),
    ("thermometer/final/within_one_n_eff", ("thermometer", "within_one", ("final",), None, None, "n_eff", False)),
    ("thermometer/test_accuracy", ("thermometer", "test_accuracy", (), None, None, "value", False)),
    ("train/layer1/log_likelihood_holdout", ("train", "log_likelihood_holdout", ("layer1",), None, None, "value", False)),
    ("train/layer0/kl_exact", ("train", "kl", ("layer0",), None, None, "exact", False)),  # by syntax
    ("train/recon_error", ("train", "recon_error", (), None, None, "value", False)),  # _error: legacy only
    ("perf/rbm_flow_peak_rss_gb", ("perf", "rbm_flow_peak_rss_gb", (), None, None, "value", False)),
    ("system/cpu_utilization_percentage", ("system", "cpu_utilization_percentage", (), None, None, "value", False)),
    ("variational/kl_rbm/T1.0000", ("variational", "kl_rbm", (), None, 1.0, "value", False)),
    ("fixed_point/temperature_network_err/T2.5000", ("fixed_point", "temperature_network", (), None, 2.5, "err", False)),
]
LEGACY = [  # the thermometer's final metrics before the contract: X_value with X_error
    ("thermometer/final/accuracy_value", ("thermometer", "accuracy", ("final",), None, None, "value", False)),
    ("thermometer/L4/final/accuracy_error", ("thermometer", "accuracy", ("final",), 4, None, "err", True)),
]


def _fields(n: MetricName) -> tuple:
    return n.stage, n.observable, n.path, n.L, n.T, n.role, n.stage_qualified


@pytest.mark.parametrize("name,fields", SHAPES + LEGACY)
def test_every_name_shape_parses_into_its_fields_and_formats_back(name, fields):
    parsed = MetricName.parse(name)
    assert _fields(parsed) == fields
    assert parsed.format() == str(parsed) == name
    assert parsed.legacy == ((name, fields) in LEGACY)
    assert MetricName.parse(parsed.format()) == parsed


@pytest.mark.parametrize("stage_qualified", [False, True])
@pytest.mark.parametrize("role", [mn.VALUE, *mn.ROLES])
@pytest.mark.parametrize("L,T", [(None, None), (None, 2.5), (12, None), (12, INF), (None, 0.0), (None, -1e-7)])
@pytest.mark.parametrize("path", [(), ("final",), ("a", "b")])
def test_every_field_combination_round_trips(stage_qualified, role, L, T, path):
    name = MetricName("thermometer", "accuracy", path, L, T, role, stage_qualified)
    assert MetricName.parse(name.format()) == name
    legacy = MetricName("thermometer", "accuracy", path, L, T, role, stage_qualified, legacy=True)
    leaf = {"value": "accuracy_value", "err": "accuracy_error"}.get(role, f"accuracy_{role}")
    assert leaf in legacy.format().split("/")
    assert MetricName.parse(legacy.format()).format() == legacy.format()


def test_a_temperature_is_the_number_its_name_prints():
    """iso_flow's grid point T = 1e-6 and its ordered start T = 0 are two flows: two names."""
    zero, tiny = MetricName("flow", "temperature", T=0.0), MetricName("flow", "temperature", T=1e-6)
    assert (zero.format(), tiny.format()) == ("flow/temperature/T0.0000", "flow/temperature/T1e-06")
    assert zero != tiny and MetricName.parse(tiny.format()).T == 1e-6 != MetricName.parse(zero.format()).T
    # the name holds what it prints: 2.269185 and 2.2692 are one name
    assert MetricName("flow", "temperature", T=2.269185) == MetricName.parse("flow/temperature/T2.2692")
    assert MetricName("flow", "temperature", T=2.269185).T == 2.2692
    assert mn.parse_temperature("Tinf") == INF and mn.parse_temperature("T1e-06") == 1e-6
    for bad in ("T1.5", "Tnan", "T-inf", "L4", "T"):  # not what format_temperature writes
        with pytest.raises(ValueError, match="not a temperature qualifier"):
            mn.parse_temperature(bad)
    assert MetricName.parse("flow/temperature/T1.5").observable == "T1.5"  # a plain segment, not a T


@pytest.mark.parametrize("name", ["flow", "flow//temperature", "/flow/x", "T1.0000/x", "flow/T1.0000",
                                  "mc/T1.0000/x/T2.0000", "flow/x/T1.0000/L4", "flow/x/L4/L5", "flow/a/T1.0000/b",
                                  "flow/x_err_err"])
def test_names_outside_the_contract_are_refused(name):
    with pytest.raises(ValueError, match="not a metric name|ends in a role"):
        MetricName.parse(name)
    assert mn.try_parse(name) is None and not Select(path=OPTIONAL, L=OPTIONAL, T=OPTIONAL, role=ANY).matches(name)


@pytest.mark.parametrize("kwargs,message", [
    (dict(stage="flow", observable="a/b"), "observable must be a non-empty segment"),
    (dict(stage="flow", observable="T1.0000"), "observable must be a non-empty segment"),
    (dict(stage="flow", observable="x", path=("L4",)), "path must be a non-empty segment"),
    (dict(stage="flow", observable="x_err"), "ends in a role's suffix"),
    (dict(stage="flow", observable="x", role="error"), "unknown metric role 'error'; allowed: value, err"),
    (dict(stage="flow", observable="x", L=-1), "L must be a non-negative int"),
])
def test_bad_fields_are_one_line_errors_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MetricName(**kwargs)


@pytest.mark.parametrize("name,role,expected", [
    ("flow/temperature/T1.5000", mn.ERR, "flow/temperature_err/T1.5000"),
    ("flow/temperature/Tinf", mn.ERR, "flow/temperature_err/Tinf"),
    ("receptive/RBM/radius", mn.ERR, "receptive/RBM/radius_err"),
    ("mc/delta_sigma/L10/T2.2692", mn.CI_LOW, "mc/delta_sigma_ci_low/L10/T2.2692"),
    ("flow/delta_sigma", mn.CI_HIGH, "flow/delta_sigma_ci_high"),
    ("flow/delta_sigma/T2.3000", mn.CENSORED, "flow/delta_sigma_censored/T2.3000"),
    ("rg/coupling/T1.0000", mn.EXACT, "rg/coupling_exact/T1.0000"),
    ("thermometer/L4/final/accuracy", mn.CI_LEVEL, "thermometer/L4/final/accuracy_ci_level"),
    ("mc/T_c", mn.ERR, "mc/T_c_err"),
])
def test_one_companion_rule(name, role, expected):
    assert mn.companion(name, role) == expected
    assert MetricName.parse(expected).value.format() == name and MetricName.parse(expected).role == role
    assert MetricName.parse(name).role == mn.VALUE


def test_writers_give_the_names_they_always_gave():
    assert mn.metric("flow", "temperature", T=1.5) == "flow/temperature/T1.5000"
    assert mn.metric("flow", "temperature", T=INF) == "flow/temperature/Tinf"
    assert mn.metric("mc", "delta_sigma", L=10, T=2.269185) == "mc/delta_sigma/L10/T2.2692"
    assert mn.metric("mc", mn.format_temperature(1.0), "n_eff") == "mc/T1.0000/n_eff"
    assert mn.metric(mn.metric("thermometer", L=4), "final") + "/accuracy" == "thermometer/L4/final/accuracy"
    assert mn.with_companions("a/b/T1.0000", 1.0, err=0.1, ci_low=None) == {"a/b/T1.0000": 1.0, "a/b_err/T1.0000": 0.1}
    fit = mn.with_companions("flow/delta_sigma/T2.3000", 0.1, ci_low=-2.0, ci_high=0.2, censored=-1)
    assert fit == {"flow/delta_sigma/T2.3000": 0.1, "flow/delta_sigma_ci_low/T2.3000": -2.0,
                   "flow/delta_sigma_ci_high/T2.3000": 0.2, "flow/delta_sigma_censored/T2.3000": -1}
    with pytest.raises(ValueError, match="unknown companion role 'error'; allowed: err, ci_low"):
        mn.companion("a/b", "error")
    assert mn.is_scaling_dimension("flow_binned/delta_epsilon_plane/T2.3000")
    assert mn.is_scaling_dimension("mc/delta_sigma_ci_low/L10/T2.2692") and not mn.is_scaling_dimension("flow/temperature/T2.0000")
    costs = {("rbm_flow", mn.SECONDS): "perf/rbm_flow_seconds", ("train_fit", mn.SECONDS): "perf/train_fit_seconds",
             ("block_rg", mn.PEAK_RSS_GB): "perf/block_rg_peak_rss_gb", (None, mn.SECONDS): "perf/total_seconds",
             (None, mn.PEAK_RSS_GB): "perf/peak_rss_gb"}
    for (stage, quantity), name in costs.items():
        assert mn.cost_metric(stage, quantity) == name and mn.parse_cost(name) == (stage, quantity)
    assert mn.parse_cost("flow/temperature/T1.0000") is None and mn.parse_cost("perf/other") is None


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
    assert mn.companions_of("thermometer/final/accuracy_err", logged) == {}  # a companion has none
    # runs logged before the contract: X_value with X_error, X_ci_low, …
    old = {"thermometer/final/accuracy_value", "thermometer/final/accuracy_error", "thermometer/final/accuracy_ci_low"}
    assert mn.companions_of("thermometer/final/accuracy_value", old) == {
        mn.ERR: "thermometer/final/accuracy_error", mn.CI_LOW: "thermometer/final/accuracy_ci_low"}
    assert mn.hidden_companions(old) == old - {"thermometer/final/accuracy_value"}
    assert MetricName.parse("flow/x_value").observable == "x_value"  # legacy names are the thermometer's only


# --------------------------------------------------------------------------------- the selectors
NAMES = ["flow/temperature/T1.5000", "flow/temperature/T2.2000", "flow/temperature/T2.3000", "flow/temperature/Tinf",
         "flow/temperature/T0.0000", "flow/temperature/T1e-06", "flow/temperature_err/T1.5000", "flow/temperature",
         "flow/x/temperature/T1.5000", "flow_binned/temperature", "mc/delta_sigma/L10/T2.2692",
         "mc/delta_sigma/L9/T2.2692", "mc/delta_sigma", "mc/T1.0000/n_eff", "receptive/RBM/radius",
         "receptive/RBM/radius_err", "thermometer/L4/final/accuracy", "thermometer/final/accuracy",
         "flow/delta_sigma_censored/T2.3000", "not a name"]


@pytest.mark.parametrize("select,expected", [
    (Select(stage="flow", observable="temperature", T=ANY),
     ["flow/temperature/T1.5000", "flow/temperature/T2.2000", "flow/temperature/T2.3000", "flow/temperature/Tinf",
      "flow/temperature/T0.0000", "flow/temperature/T1e-06"]),
    (Select(stage="flow", observable="temperature"), ["flow/temperature"]),  # no T: no qualifier
    (Select(stage=("flow", "flow_binned"), observable="temperature", T=OPTIONAL),
     [n for n in NAMES[:6]] + ["flow/temperature", "flow_binned/temperature"]),
    (Select(stage="flow", observable="temperature", T=0.0), ["flow/temperature/T0.0000"]),
    (Select(stage="flow", observable="temperature", T=1e-6), ["flow/temperature/T1e-06"]),
    (Select(stage="flow", observable="temperature", T=INF), ["flow/temperature/Tinf"]),
    (Select(stage="flow", observable="temperature", T=(1.5, 2.2)), ["flow/temperature/T1.5000", "flow/temperature/T2.2000"]),
    (Select(stage="flow", observable="temperature", T=1.5, role=mn.ERR), ["flow/temperature_err/T1.5000"]),
    (Select(stage="flow", path=ANY, observable="temperature", T=ANY), ["flow/x/temperature/T1.5000"]),
    (Select(stage="mc", observable="delta_sigma", L=10, T=2.269185), ["mc/delta_sigma/L10/T2.2692"]),
    (Select(stage="mc", observable="delta_sigma", L=ANY, T=ANY), ["mc/delta_sigma/L10/T2.2692", "mc/delta_sigma/L9/T2.2692"]),
    (Select(stage="mc", observable="delta_sigma"), ["mc/delta_sigma"]),
    (Select(stage="mc", stage_qualified=True, T=ANY, role=ANY), ["mc/T1.0000/n_eff"]),
    (Select(stage="receptive", path=ANY, observable="radius", role=ANY), ["receptive/RBM/radius", "receptive/RBM/radius_err"]),
    (Select(stage="thermometer", path=("final",), L=OPTIONAL), ["thermometer/L4/final/accuracy", "thermometer/final/accuracy"]),
    (Select(role=mn.CENSORED, T=OPTIONAL), ["flow/delta_sigma_censored/T2.3000"]),
])
def test_a_selector_matches_by_fields(select, expected):
    assert select.select(NAMES) == expected
    assert [n for n in NAMES if select.matches(n)] == expected
    assert Select.from_data(select.to_data()) == select


def test_the_grid_point_nearest_t_c():
    """Near picks among the matching names' finite temperatures: the nearest, or the nearest on a side."""
    per_start = dict(stage="flow", observable="temperature")
    t_c = 2 / math.log(1 + math.sqrt(2))
    assert Select(**per_start, T=Near("T_c")).select(NAMES, T_c=t_c) == ["flow/temperature/T2.3000"]
    assert Select(**per_start, T=Near("T_c", "below")).select(NAMES, T_c=t_c) == ["flow/temperature/T2.2000"]
    assert Select(**per_start, T=Near("T_c", "above")).select(NAMES, T_c=t_c) == ["flow/temperature/T2.3000"]
    assert Select(**per_start, T=Near(1.4)).select(NAMES) == ["flow/temperature/T1.5000"]
    assert Select(**per_start, T=Near(3.0, "above")).select(NAMES) == []  # Tinf is no grid point
    assert Select(**per_start, T=Near(0.0, "above")).select(NAMES) == ["flow/temperature/T1e-06"]
    with pytest.raises(ValueError, match=r"Near\('T_c'\) needs T_c=<value>; given: none"):
        Select(**per_start, T=Near("T_c")).select(NAMES)
    with pytest.raises(ValueError, match="Near side must be one of nearest, below, above"):
        Near("T_c", "left")


def test_a_selector_as_plain_data_and_as_one_name():
    data = {"stage": ["flow", "flow_binned"], "observable": "delta_epsilon_plane", "T": {"near": "T_c", "side": "below"}}
    select = Select.from_data(data)
    assert select == Select(stage=("flow", "flow_binned"), observable="delta_epsilon_plane", T=Near("T_c", "below"))
    assert select.to_data() == data
    assert Select.from_data({"stage": "flow", "observable": "temperature", "T": "*"}) == Select(
        stage="flow", observable="temperature", T=ANY)
    assert Select.from_data({"observable": "accuracy", "path": ["final"], "T": [None, "*"]}).to_data() == {
        "observable": "accuracy", "path": ["final"], "T": [None, "*"]}
    assert Select.from_data({"name": "mc/T_c"}) == Select(stage="mc", observable="T_c") == Select.exact("mc/T_c")
    assert Select(stage="mc", observable="T_c").name == "mc/T_c" and Select(stage="mc", T=ANY).name is None
    assert Select.exact("thermometer/L4/final/accuracy_err").name == "thermometer/L4/final/accuracy_err"
    assert Select(stage="flow", observable="temperature", T=ANY).display() == "flow/temperature/T*"
    assert Select(stage="stack", observable="coupling", T=OPTIONAL).display() == "stack/coupling/T*"
    assert Select(stage="mc", observable="delta_sigma", L=10, T=2.2692).display() == "mc/delta_sigma/L10/T2.2692"
    with pytest.raises(ValueError, match="select: unknown field 'temperature'; allowed: name, stage"):
        Select.from_data({"temperature": 2.0})
    with pytest.raises(ValueError, match="select: bad role 'error'; allowed: one of value, err"):
        Select(role="error")
    with pytest.raises(ValueError, match="select: bad T 'x'"):
        Select(T="x")


# -------------------------------------------------------------- the writers against the readers
def test_every_logged_name_parses_and_formats_back(runs):
    for preset, run in runs.items():
        assert not [n for n in run.final if MetricName.parse(n).format() != n], preset


def test_every_companion_logged_belongs_to_a_logged_metric(runs):
    """A companion built by hand with its suffix in the wrong place would be an orphan here."""
    for preset, run in runs.items():
        names = set(run.final)
        orphans = sorted(n for n in names if not is_diagnostic(n) and (p := MetricName.parse(n)).role != mn.VALUE
                         and p.value.format() not in names)
        assert not orphans, (preset, orphans)


def test_every_claim_selector_matches_a_metric_of_its_models(runs):
    for claim in load_claims():
        logged = {n for r in runs.values() if model_of(r.params) in claim.models for n in r.final}
        for est in claim.estimators:
            found = est.select.select(logged)
            assert found, f"claim {claim.key!r} ({est.name}): no logged metric matches {est.select.display()}"
            if claim.reference_metric(found[0]) is not None:  # the metric it compares with is logged beside it
                assert any(claim.reference_metric(n) in r.final for r in runs.values()
                           for n in est.select.select(r.final)), claim.key


def test_every_summary_headline_matches_a_logged_metric(runs):
    logged = _logged(runs)
    for label, select in HEADLINES:
        assert select.select(logged), f"{label!r}: nothing matches {select.display()}"


@pytest.fixture(scope="module")
def readings(runs) -> dict[tuple[str, str], list[tuple[str, Judgment]]]:
    """(claim, estimator) -> (preset, its judgment) for every run the claim gives a reading on."""
    out: dict[tuple[str, str], list[tuple[str, Judgment]]] = {}
    for preset, run in runs.items():
        group, names = Group("all runs", tuple(sorted(run.params.items())), [run]), main_metrics([run])
        for claim in load_claims():
            for j in judge(claim, group, names, 0.95, 1):
                out.setdefault((claim.key, j.estimator.name), []).append((preset, j))
    return out


def test_every_scorecard_claim_reads_some_run(readings):
    """Each claim (source, estimator) gives a reading on at least one run: its metrics were logged
    under the names it reads."""
    unread = [(c.key, e.name, e.select.display()) for c in load_claims() for e in c.estimators
              if (c.key, e.name) not in readings]
    assert sorted(key for key, _, _ in unread) == sorted(UNREADABLE), unread


def test_what_the_claims_read_carries_its_error(runs, readings):
    """Every metric a claim reads has an ``_err`` or a ``_ci_low``/``_ci_high`` pair, found by the one
    rule (but the exact variational construction)."""
    for key, found in readings.items():
        for preset, reading in found:
            for name in reading.metrics:
                roles = mn.companions_of(name, runs[preset].final.keys())
                assert (mn.ERR in roles or {mn.CI_LOW, mn.CI_HIGH} <= set(roles)
                        or MetricName.parse(name).stage == "variational"), (key, preset, name, roles)
