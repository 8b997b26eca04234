"""The verdict rule (rgexp.report.intervals): two one-sided tests of an interval against a band,
each kind of claim tested all three ways on constructed summaries, censored ones included; then
the trend rule end to end through the judge, on runs whose changes are set by hand.

The issue's example: Δ_σ in [0.1236, 0.1244] against 1/8 with τ = 0.031 agrees far inside τ, and
the old rule (interval excludes r -> not reproduced) called it "not reproduced".
"""

from __future__ import annotations

import math

import pytest

from rgexp.report.claims import load_claims
from rgexp.report.collect import Group
from rgexp.report.intervals import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, Summary, format_interval,
                                    judge_interval)
from rgexp.report.judge import band_of, judge
from rgexp.tracking import RunRecord

R, TAU = 0.125, 0.03125  # Δ_σ = 1/8 with τ = 25%


def summary(low: float, high: float, n: int = 3, censored_low: int = 0, censored_high: int = 0) -> Summary:
    return Summary(n, (low + high) / 2, 0.01, low, high, 0.95, censored_low, censored_high)


# (interval, verdict of "equals r within τ"); "differs" swaps the first two
EQUALS = [
    ((0.1236, 0.1244), REPRODUCED),        # excludes r, but far inside the band: agrees within τ
    ((0.10, 0.15), REPRODUCED),            # inside [0.09375, 0.15625]
    ((0.16, 0.20), NOT_REPRODUCED),        # wholly above r + τ
    ((0.01, 0.09), NOT_REPRODUCED),        # wholly below r − τ
    ((0.14, 0.17), INCONCLUSIVE),          # crosses r + τ
    ((0.05, 0.20), INCONCLUSIVE),          # wider than the band
]


@pytest.mark.parametrize("interval,verdict", EQUALS)
def test_equals_is_two_one_sided_tests_against_the_band(interval, verdict):
    got, why = judge_interval(summary(*interval), band_of("equals", R, TAU), min_runs=2)
    assert got == verdict, why
    assert ("wider than" in why) == (interval == (0.05, 0.20))


@pytest.mark.parametrize("interval,verdict", EQUALS)
def test_differs_is_the_reverse(interval, verdict):
    swap = {REPRODUCED: NOT_REPRODUCED, NOT_REPRODUCED: REPRODUCED, INCONCLUSIVE: INCONCLUSIVE}
    got, _ = judge_interval(summary(*interval), band_of("differs", R, TAU), min_runs=2)
    assert got == swap[verdict]


@pytest.mark.parametrize("side,interval,verdict", [
    (-1, (0.10, 0.12), REPRODUCED),         # under 1/8 within τ, just below T_c
    (-1, (0.13, 0.14), NOT_REPRODUCED),     # over it
    (-1, (0.05, 0.09), NOT_REPRODUCED),     # under it by more than τ
    (-1, (0.12, 0.13), INCONCLUSIVE),       # crosses 1/8: under or not, the data cannot say
    (1, (0.13, 0.15), REPRODUCED),          # over 1/8 within τ, just above T_c
    (1, (0.10, 0.12), NOT_REPRODUCED),
    (1, (0.15, 0.17), INCONCLUSIVE),        # crosses r + τ
])
def test_bracket_sides(side, interval, verdict):
    assert judge_interval(summary(*interval), band_of("bracket", R, TAU, side), min_runs=2)[0] == verdict


TREND = Band(-math.inf, 0.1, NOT_REPRODUCED, "(−∞, δ = 0.1]")  # the change in the claimed direction


@pytest.mark.parametrize("interval,verdict", [
    ((0.3, 0.5), REPRODUCED),         # at least δ in the claimed direction
    ((0.02, 0.08), NOT_REPRODUCED),   # in the claimed direction, but less than the minimum effect
    ((-0.5, -0.3), NOT_REPRODUCED),   # the other way
    ((0.05, 0.3), INCONCLUSIVE),      # crosses δ
    ((-0.1, 0.05), NOT_REPRODUCED),   # contains 0 and lies below δ: no effect of δ
])
def test_trend_against_the_minimum_effect_not_against_zero(interval, verdict):
    assert judge_interval(summary(*interval), TREND, min_runs=2)[0] == verdict


@pytest.mark.parametrize("band,interval,low,high,verdict", [
    # equals: an interval open on one side is never inside a finite band
    (band_of("equals", R, TAU), (0.11, 0.14), 1, 0, INCONCLUSIVE),
    (band_of("equals", R, TAU), (-2.0, 0.05), 1, 0, NOT_REPRODUCED),   # open below, its upper end < r − τ
    (band_of("equals", R, TAU), (0.01, 0.05), 0, 1, INCONCLUSIVE),     # open above: could reach the band
    # differs: only a side the censoring cannot move
    (band_of("differs", 1.0, 0.25), (-2.0, 0.2), 2, 0, REPRODUCED),
    (band_of("differs", 1.0, 0.25), (0.2, 0.6), 0, 1, INCONCLUSIVE),   # open upward: could reach 1
    (band_of("differs", 1.0, 0.25), (0.8, 1.1), 1, 0, INCONCLUSIVE),   # open, and inside the band
    # a trend's change: open upward can only add to an effect beyond δ
    (TREND, (0.3, 0.5), 0, 1, REPRODUCED),
    (TREND, (0.3, 0.5), 1, 0, INCONCLUSIVE),
    (TREND, (-0.5, 0.05), 1, 0, NOT_REPRODUCED),
    (TREND, (-0.5, 0.05), 0, 1, INCONCLUSIVE),
])
def test_a_censored_side_counts_only_where_it_cannot_change_the_verdict(band, interval, low, high, verdict):
    got, why = judge_interval(summary(*interval, censored_low=low, censored_high=high), band, min_runs=2)
    assert got == verdict, why
    assert format_interval(-math.inf if low else interval[0], math.inf if high else interval[1]) in why
    uncensored, _ = judge_interval(summary(*interval), band, min_runs=2)
    if verdict == INCONCLUSIVE and uncensored != INCONCLUSIVE:
        assert why.startswith("censored: "), why  # the censoring is the reason


def test_missing_and_too_few_runs_are_inconclusive():
    assert judge_interval(None, band_of("equals", R, TAU), 2) == (INCONCLUSIVE, "metric missing at the stage's last step")
    assert judge_interval(summary(0.12, 0.13, n=1), band_of("equals", R, TAU), 2) == (INCONCLUSIVE,
                                                                                    "1 run(s) < min_runs=2")


def test_an_exact_construction_agrees_to_rounding():
    # a zero-width interval at the band's edge, off by rounding: inside
    edge = R + TAU + 1e-13
    assert judge_interval(summary(edge, edge), band_of("equals", R, TAU), 2)[0] == REPRODUCED


# ---------------------------------------------------------------------------------- trends, end to end
NN = {"sampler._target_": "rgexp.ising.Ising2DSampler", "sampler.J": "1.0"}
T_C = 2 / math.log(1 + math.sqrt(2))
DELTA = 0.05 * T_C  # the flow_to_tc claim's minimum effect


def flow_group(ends: dict[float, float], seeds: int = 3) -> Group:
    """Flows from start T to ``ends[T]`` over three flow lengths, ± 0.005 between seeds."""
    runs = []
    for seed in range(seeds):
        history = {}
        for t, end in ends.items():
            x = end + 0.005 * (seed - 1)
            history[f"flow/temperature/T{t:.4f}"] = [(0, t), (1, (t + x) / 2), (2, x)]
            history[f"flow/temperature_err/T{t:.4f}"] = [(k, 0.01) for k in range(3)]
        runs.append(RunRecord(f"r{seed}", "r", "e", "FINISHED", {**NN, "seed": str(seed)}, {},
                              {n: h[-1][1] for n, h in history.items()}, history))
    return Group("all runs", (), runs)


FLOW_TO_TC = next(c for c in load_claims() if c.key == "flow_to_tc")


def trend(ends: dict[float, float]):
    group = flow_group(ends)
    names = sorted(n for n in group.runs[0].final if "_err" not in n)
    (j,) = judge(FLOW_TO_TC, group, names)
    return j


@pytest.mark.parametrize("ends,verdict,why", [
    ({1.5: T_C, 3.5: T_C}, REPRODUCED, "2 curves: 2 reproduced"),
    # both move toward T_c, but 1.5 only by 0.05 < δ: too small to count
    ({1.5: 1.55, 3.5: T_C}, NOT_REPRODUCED, "not reproduced at T1.5000"),
    ({1.5: 1.2, 3.5: 3.9}, NOT_REPRODUCED, "2 not reproduced"),         # both away
    ({1.5: 1.5 + 0.9 * DELTA, 3.5: T_C}, INCONCLUSIVE, "inconclusive at T1.5000"),  # at δ, within the noise
    ({3.0: T_C, 3.5: T_C}, INCONCLUSIVE, "curves start on one side"),   # both sides claimed, one shown
])
def test_trend_claim_against_its_minimum_effect(ends, verdict, why):
    j = trend(ends)
    assert j.verdict == verdict and why in j.why, j.why
    assert j.reference == f"|x − {T_C:.4g}| shrinks by ≥ δ = {DELTA:.3g}"


def test_curves_starting_within_the_minimum_effect_are_skipped():
    j = trend({2.2: 2.0, 1.5: T_C, 3.5: T_C})  # 2.2 is 0.07 < δ from T_c: it cannot approach by δ
    assert j.verdict == REPRODUCED and "1 curve(s) start within δ" in j.why and "T2.2000" in j.why
    assert [p.metric for p in j.parts] == ["flow/temperature/T1.5000", "flow/temperature/T3.5000"]


@pytest.mark.parametrize("side,verdict", [
    (0, REPRODUCED),
    (-1, REPRODUCED),    # the last value could be lower still: the fall can only be larger
    (1, INCONCLUSIVE),   # it could be higher: the fall could be smaller than δ
])
def test_a_trend_on_a_censored_fit(side, verdict):
    from rgexp.metric_names import ANY, Select
    from rgexp.report.claims import Claim, Estimator, Tolerance

    claim = Claim("fall", ("exact",), "Δ_ε falls along the flow", "claim", ("ising2d",), "trend",
                  (Estimator("every curve", Select(stage="flow", observable="delta_epsilon", T=ANY), "curves"),),
                  tolerance=Tolerance(abs=0.1), direction="down")
    runs = []
    for seed in range(2):
        x = [1.0, 0.75, 0.5 + 0.01 * seed]
        history = {"flow/delta_epsilon/T2.3000": x, "flow/delta_epsilon_ci_low/T2.3000": [v - 0.05 for v in x],
                   "flow/delta_epsilon_ci_high/T2.3000": [v + 0.05 for v in x],
                   "flow/delta_epsilon_censored/T2.3000": [0, 0, side]}
        history = {n: list(enumerate(v)) for n, v in history.items()}
        runs.append(RunRecord(f"r{seed}", "r", "e", "FINISHED", {**NN, "seed": str(seed)}, {},
                              {n: h[-1][1] for n, h in history.items()}, history))
    (j,) = judge(claim, Group("all runs", (), runs), ["flow/delta_epsilon/T2.3000"])
    assert j.verdict == verdict, j.why
    assert (j.why.startswith("censored") or "censored" in j.why) == (side == 1), j.why
