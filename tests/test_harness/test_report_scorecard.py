"""The scorecard the report leads with, on synthetic run records shaped like an rbm_flow run (60
start temperatures + a random (Tinf) and an ordered (T0) start, 31 flow lengths, binned metrics).

Records are built in memory (no MLflow), so these tests are fast. Expected numbers are computed
here from the values put into the records, never from the report's own code.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rgexp.analysis.figures import curves_by_temperature
from rgexp.report.build import build_report, main_metrics
from rgexp.metric_names import CENSORED, CI_HIGH, CI_LOW, companion
from rgexp.report.collect import Series, final_point, group_runs
from rgexp.report.figures import family_figure
from rgexp.report.judge import score
from rgexp.tracking import RunRecord

T_C = 2 / math.log(1 + math.sqrt(2))
NN = {"sampler._target_": "rgexp.ising.Ising2DSampler", "sampler.J": "1.0", "sampler.L": "10"}
STARTS = [round(0.1 * k, 4) for k in range(1, 61)] + [0.0, math.inf]  # + ordered and random starts
BINS = [round(0.1 * k, 4) for k in range(1, 61)]  # the thermometer's classes
NEAR_TC = (2.2, 2.3)  # the extra temperatures / bins just below and above T_c


def _name(stage: str, observable: str, t: float | None = None, suffix: str = "") -> str:
    return f"{stage}/{observable}{suffix}" + ("" if t is None else f"/T{t:.4f}")


def _relax(start: float, end: float, steps: int, rate: float = 0.3) -> list[float]:
    """A reading that starts at ``start`` and relaxes to ``end`` along the flow."""
    return [end + (start - end) * math.exp(-rate * k) for k in range(steps)]


def _fit(curves: dict, stage: str, observable: str, value: float, steps: int, t: float | None = None,
         half: float = 0.01) -> None:
    """A Δ fit logged per flow length with a 90% interval of ± ``half``, ending at ``value``."""
    curve = _relax(0.125 if observable.startswith("delta_sigma") else 1.0, value, steps)
    curves[_name(stage, observable, t)] = curve
    curves[_name(stage, observable, t, "_ci_low")] = [v - half for v in curve]
    curves[_name(stage, observable, t, "_ci_high")] = [v + half for v in curve]


def flow_curves(ends: dict[float, float], steps: int = 31, *, binned: bool = True, delta_m: float = 0.14,
                below: float = 0.105, above: float = 0.145, epsilon: float = 1.6) -> dict[str, list[float]]:
    """metric -> value per flow length: each start's temperature relaxes to ``ends[start]``."""
    curves: dict[str, list[float]] = {}
    for t, end in ends.items():
        first = 6.5 if math.isinf(t) else max(t, 0.05)  # the thermometer reads an ordered start as cold
        curves[_name("flow", "temperature", t)] = _relax(first, end, steps)
        curves[_name("flow", "temperature", t, "_err")] = [0.02] * steps
    mean_end = float(np.mean(list(ends.values())))
    curves["flow/delta_sigma_from_m"] = _relax(0.3, delta_m, steps)
    curves["flow/delta_sigma_from_m_err"] = [0.004] * steps
    for t, value in zip(NEAR_TC, (below, above)):
        _fit(curves, "flow", "delta_sigma", value, steps, t)
        _fit(curves, "flow", "delta_epsilon", epsilon, steps, t)
    _fit(curves, "flow", "delta_sigma", (below + above) / 2, steps)
    _fit(curves, "flow", "delta_epsilon", epsilon, steps)
    if binned:
        for stage in ("flow_binned", "flow_binned_energy"):
            curves[f"{stage}/temperature"] = _relax(3.0, mean_end, steps)
            curves[f"{stage}/temperature_err"] = [0.01] * steps
            curves[f"{stage}/delta_sigma_from_m"] = _relax(0.3, delta_m, steps)
            curves[f"{stage}/delta_sigma_from_m_err"] = [0.004] * steps
            for t, value in zip(NEAR_TC, (below, above)):
                for form in ("delta_sigma", "delta_sigma_plane"):
                    _fit(curves, stage, form, value, steps, t)
                for form in ("delta_epsilon", "delta_epsilon_plane"):
                    _fit(curves, stage, form, epsilon, steps, t)
        for b in BINS:  # configurations per bin drift toward the bins at the end temperature
            weight = math.exp(-((b - mean_end) ** 2))
            curves[_name("flow_binned", "count", b)] = [round(1000 * weight * (1 - math.exp(-k / 5)) + 5)
                                                       for k in range(steps)]
            curves[_name("flow_binned", "abs_magnetization", b)] = [1 / (1 + math.exp(4 * (b - T_C)))] * steps
    return curves


def record(seed: int, curves: dict[str, list[float]], params: dict | None = None) -> RunRecord:
    """A finished run with ``curves[name][step]`` as its history."""
    history = {name: list(enumerate(values)) for name, values in curves.items()}
    return RunRecord(f"run{seed:04d}" + "0" * 24, f"synthetic-{seed}", "rbm_flow", "FINISHED",
                     {**(params or NN), "seed": str(seed)}, {}, {n: h[-1][1] for n, h in history.items()}, history)


def rbm_flow_records(end: float = 1.84, seeds: int = 3, **kwargs) -> list[RunRecord]:
    """``seeds`` runs whose flows all end near ``end`` (a little seed and start scatter)."""
    out = []
    for seed in range(seeds):
        ends = {t: end + 0.01 * (seed - 1) + 0.02 * math.sin(7 * i) for i, t in enumerate(STARTS)}
        out.append(record(seed, flow_curves(ends, **kwargs)))
    return out


def scorecard(records: list[RunRecord]) -> dict[tuple[str, str], object]:
    rows = score(group_runs(records), main_metrics(records))
    keyed = {(r.claim.key, r.estimator.name): r for r in rows}
    assert len(keyed) == len(rows), "two rows for one claim and estimator"
    return keyed


# ------------------------------------------------------------------------------------------- tests
def test_one_row_per_claim_and_estimator_for_62_starts():
    rows = scorecard(rbm_flow_records())
    assert sorted(rows) == sorted([
        ("flow_tc", "by start temperature"), ("flow_tc", "binned (thermometer class)"),
        ("flow_tc", "binned (energy)"), ("flow_to_tc", "last − first step, every curve"),
        *(("delta_sigma_m", e) for e in ("by start temperature", "binned (thermometer class)", "binned (energy)")),
        *((key, e) for key in ("delta_sigma_bracket", "delta_epsilon")
          for e in ("by start temperature", "by start temperature, grid T nearest T_c",
                    "binned (thermometer class)", "binned (energy)", "binned (thermometer class), plane form",
                    "binned (energy), plane form"))])
    by_start = rows[("flow_tc", "by start temperature")]
    assert len(by_start.metrics) == 62 and "over 62 starts" in by_start.value
    assert rows[("delta_sigma_m", "binned (energy)")].metrics == ("flow_binned_energy/delta_sigma_from_m",)


def test_fixed_point_reading_is_the_mean_over_starts_then_seeds():
    records = rbm_flow_records(end=1.84)
    row = scorecard(records)[("flow_tc", "by start temperature")]
    per_run = [np.mean([h[-1][1] for n, h in r.history.items() if re.fullmatch(r"flow/temperature/T.+", n)])
               for r in records]
    assert float(row.value.split(" [")[0]) == pytest.approx(np.mean(per_run), abs=5e-4)
    assert row.verdict == "not reproduced"
    offset = (T_C - np.mean(per_run)) / T_C
    assert f"{offset:.0%} below T_c" in row.why and row.why.startswith("62 starts end at")


@pytest.mark.parametrize("ends,verdict", [
    ("at_tc", "reproduced"),
    # the mean is T_c, but half the starts end 20% below and half above: "every start ends at the
    # fixed point" is contradicted by each of them (τ = 10%)
    ("split", "not reproduced"),
    ("edge", "inconclusive"),  # every start ends at T_c + τ: each interval crosses the band's edge
    ("above", "not reproduced"),
])
def test_fixed_point_verdict_follows_the_rules(ends, verdict):
    shape = {"at_tc": lambda i: T_C, "split": lambda i: T_C * (0.8 if i % 2 else 1.2), "above": lambda i: 2.8,
             "edge": lambda i: 1.1 * T_C}
    records = [record(seed, flow_curves({t: shape[ends](i) + 0.002 * (seed - 1) for i, t in enumerate(STARTS)},
                                        binned=False)) for seed in range(3)]
    assert scorecard(records)[("flow_tc", "by start temperature")].verdict == verdict


@pytest.mark.parametrize("below,above,verdict", [
    (0.105, 0.145, "reproduced"),       # under 1/8 below T_c, over it above, both within τ
    (0.145, 0.105, "not reproduced"),   # the wrong way round
    (0.05, 0.145, "not reproduced"),     # under, but by more than τ = 1/32
    (0.125, 0.145, "inconclusive"),      # at 1/8 below T_c: the interval crosses 1/8, under or not
])
def test_bracket_of_delta_sigma(below, above, verdict):
    rows = scorecard(rbm_flow_records(below=below, above=above, seeds=2))
    for estimator in ("by start temperature", "binned (thermometer class)", "binned (energy), plane form"):
        reading = rows[("delta_sigma_bracket", estimator)]
        assert reading.verdict == verdict, (estimator, reading)
        assert "below T_c (T = 2.2)" in reading.why and "above T_c (T = 2.3)" in reading.why


@pytest.mark.parametrize("epsilon,verdict", [(1.6, "reproduced"), (1.0, "not reproduced")])
def test_delta_epsilon_claim_expects_differ(epsilon, verdict):
    rows = scorecard(rbm_flow_records(epsilon=epsilon, seeds=2))
    for (key, estimator), row in rows.items():
        if key == "delta_epsilon":
            assert row.claim.kind == "differs" and row.reference.startswith("≠ 1 ")
            assert row.verdict == verdict, (estimator, row)


def test_rows_without_metrics_are_omitted():
    rows = scorecard(rbm_flow_records(binned=False, seeds=2))
    assert not any(e.startswith("binned") for _, e in rows)
    assert ("flow_tc", "by start temperature") in rows
    chain = {"sampler._target_": "rgexp.ising.chain1d.Chain1DSampler", "sampler.J": "1.0"}
    exact = [1.0, 0.66, 0.37]
    other = [record(s, {"rg/coupling/T1.0000": exact, "rg/coupling_exact/T1.0000": exact}, chain) for s in range(2)]
    keys = {key for key, _ in scorecard(other)}
    assert keys == {"rg_coupling", "rg_coupling_exact"}  # no dmk2020 row, nothing "missing"


def test_report_leads_with_the_scorecard(tmp_path):
    starts = STARTS[20:26] + [0.0, math.inf]  # a few starts, a few steps: figures are the cost
    records = [record(s, flow_curves({t: 1.84 + 0.01 * s for t in starts}, steps=4, binned=False))
               for s in range(2)]
    report = build_report(records, tmp_path, title="t", selection="synthetic")
    html = report.html.read_text()
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings[:2] == ["Scorecard", "Checks of exact results"]
    assert headings.index("Runs") < headings.index("Appendix A. Verdicts per metric")
    ids = set(re.findall(r"<figure id='([^']+)'>", html))
    links = re.findall(r"<a href='#([^']+)'>", html)
    assert links and set(links) <= ids  # every figure link of the scorecard lands on an embedded figure
    md = report.markdown.read_text()
    scorecard_md = md[md.index("## Scorecard"):md.index("## Runs")]
    assert scorecard_md.count("| flow/temperature/T* |") == 0  # summarised, not one row per start
    fixed_point = [line for line in scorecard_md.splitlines() if "| by start temperature |" in line
                   and "over 8 starts" in line]
    assert len(fixed_point) == 1 and "| not reproduced |" in fixed_point[0]
    assert sum(report.counts().values()) == len(report.scorecard)
    assert all(j.claim.category == "claim" for j in report.scorecard)


def _series(n: int) -> dict[str, Series]:
    labels = [f"T{0.1 * (k + 1):.4f}" for k in range(n - 2)] + ["T0.0000", "Tinf"]
    return {label: Series([0, 1, 2], [1.0 + k, 1.5, 1.8], [0.1] * 3, [2] * 3) for k, label in enumerate(labels)}


@pytest.mark.parametrize("n", [62, 5])
def test_many_starts_get_a_colour_bar_not_a_legend(n):
    fig = family_figure("flow/temperature", {"all runs": _series(n)}, {"all runs": {"T1.0000": T_C}}, "T_c")
    starts = {float(k + 1): [(1.0, 0.1), (1.5, 0.1)] for k in range(n - 2)} | {0.0: [(0.1, 0)], math.inf: [(6, 0)]}
    pipeline = curves_by_temperature(starts, "flow length", "T")
    try:
        for f, extra in ((fig, 1), (pipeline, 0)):  # the family figure also keys its T_c line
            legend = f.axes[0].get_legend()
            texts = [t.get_text() for t in legend.get_texts()]
            if n > 8:
                assert len(f.axes) == 2 and "temperature" in f.axes[1].get_ylabel()  # the colour bar
                assert len(texts) == 2 + extra
                assert {"ordered start (T = 0)", "random start (T = ∞)"} <= set(texts)
            else:
                assert len(f.axes) == 1 and len(texts) == n + extra
    finally:
        plt.close(fig)
        plt.close(pipeline)


@pytest.mark.parametrize("low,high,value,verdict", [
    (-2.0, 1.2, 0.5, "inconclusive"),   # censored below and containing 1: no statement
    (-2.0, 0.2, -1.5, "reproduced"),     # censored below, but its upper end (an estimate) lies below 1 − τ
    (0.4, 8.0, 2.0, "inconclusive"),     # censored above, containing 1
    (1.4, 8.0, 2.0, "reproduced"),       # censored above, its lower end above 1 + τ: open upward, still ≠ 1
])
def test_a_delta_interval_censored_at_the_search_bound(low, high, value, verdict):
    """A Δ fit whose interval ends at the search bound (DELTA_BOUNDS) bounds Δ on the other side
    only: an exclusion past the uncensored end stands, anything else is inconclusive."""
    records = rbm_flow_records(seeds=2)
    for rec in records:
        for suffix, v in (("", value), ("_ci_low", low), ("_ci_high", high)):
            name = f"flow/delta_epsilon{suffix}"
            rec.history[name] = [(k, v) for k, _ in rec.history[name]]
            rec.final[name] = v
    row = scorecard(records)[("delta_epsilon", "by start temperature, grid T nearest T_c")]
    assert row.verdict == verdict, row
    assert "censored" in row.value
    assert ("−∞" if low == -2.0 else "+∞") in row.why  # the interval is open on its censored side


@pytest.mark.parametrize("low,high,logged,side", [
    (-2.0, 1.2, None, -1),  # a run logged before fits said it: inferred from today's search bound
    (-2.0, 1.2, 0.0, 0),    # the fit said it was not censored (its bound was elsewhere)
    (0.4, 1.2, 1.0, 1),     # the fit said censored above, whatever today's bounds are
    (0.4, 1.2, -1.0, -1),
])
def test_the_censoring_a_fit_logged_wins_over_inference(low, high, logged, side):
    records = rbm_flow_records(seeds=2)
    values = {CI_LOW: low, CI_HIGH: high} | ({CENSORED: logged} if logged is not None else {})
    for rec in records:
        for role, v in values.items():
            name = companion("flow/delta_epsilon", role)
            rec.history[name] = [(k, v) for k, _ in rec.history["flow/delta_epsilon"]]
            rec.final[name] = v
    assert final_point(records[0], "flow/delta_epsilon").censored == side
    row = scorecard(records)[("delta_epsilon", "by start temperature, grid T nearest T_c")]
    assert ("censored" in row.value) == (side != 0), row
