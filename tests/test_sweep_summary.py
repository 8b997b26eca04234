"""The sweep's numbers and lines (rgexp.summary): the interval over seeds against Student's t from
the tables, the parent's metrics step by step, the cross-seed table."""

import math

import pytest

from rgexp.metric_names import CI_HIGH, CI_LEVEL, CI_LOW, ERR, N_EFF, companion, cost_metric, metric
from rgexp.summary import SweepGroup, across_seeds, aggregated, seed_aggregate, sweep_summary

# Student's t quantiles t_{0.975, df} from the tables (two-sided 95%)
T975 = {1: 12.706204736174703, 2: 4.302652729749464, 4: 2.7764451051977987}


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [0.1, 0.4], [2.5, 2.0, 3.5, 1.0, 4.0]])
def test_interval_over_seeds_is_students_t(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    s = across_seeds(values)
    assert s.n == n and s.mean == pytest.approx(mean, rel=1e-15) and s.std == pytest.approx(std, rel=1e-14)
    half = T975[n - 1] * std / math.sqrt(n)
    assert (s.ci_low, s.ci_high) == pytest.approx((mean - half, mean + half), rel=1e-12)
    assert s.sem == pytest.approx(std / math.sqrt(n), rel=1e-14)


def test_one_seed_has_no_spread_and_non_finite_values_do_not_count():
    one = across_seeds([2.0, math.nan, math.inf])
    assert one.n == 1 and one.mean == 2.0 and math.isnan(one.std) and math.isnan(one.ci_low)
    assert across_seeds([math.nan]) is None and across_seeds([]) is None


def test_the_parents_metrics_are_the_mean_under_the_metrics_own_name_with_contract_companions():
    name = metric("flow", "temperature", T=1.5)
    runs = [{name: [(0, 1.5), (1, 2.0), (2, 2.2)]}, {name: [(0, 1.5), (1, 2.4)]}, {name: [(0, 1.5), (1, 2.6)]}]
    out = seed_aggregate(runs)
    assert sorted(out) == [0, 1, 2]
    at1 = out[1]
    mean, std = 7.0 / 3, math.sqrt(((2.0 - 7 / 3) ** 2 + (2.4 - 7 / 3) ** 2 + (2.6 - 7 / 3) ** 2) / 2)
    assert at1[name] == pytest.approx(mean, rel=1e-14)
    assert at1[companion(name, ERR)] == pytest.approx(std / math.sqrt(3), rel=1e-12)
    half = T975[2] * std / math.sqrt(3)
    assert at1[companion(name, CI_LOW)] == pytest.approx(mean - half, rel=1e-12)
    assert at1[companion(name, CI_HIGH)] == pytest.approx(mean + half, rel=1e-12)
    assert at1[companion(name, N_EFF)] == 3 and companion(name, CI_LEVEL) not in at1  # the level: a param
    assert out[0][companion(name, ERR)] == 0 and out[0][name] == 1.5  # three equal values: no spread
    assert out[2] == {name: 2.2, companion(name, N_EFF): 1.0}  # one run reached step 2: its value, n = 1


def test_aggregated_metrics_are_results_and_the_total_cost():
    names = [metric("flow", "temperature", T=1.5), companion(metric("flow", "temperature", T=1.5), ERR),
             "train/loss", "system/cpu_utilization_percentage", cost_metric(None, "seconds"),
             cost_metric("training", "seconds"), "mc/T2.0000/tau_int_absm", metric("thermometer", "final", "accuracy")]
    assert aggregated(names) == sorted([metric("flow", "temperature", T=1.5), cost_metric(None, "seconds"),
                                        metric("thermometer", "final", "accuracy")])


def test_the_cross_seed_table_shows_each_run_and_the_interval():
    acc = metric("thermometer", "final", "accuracy")
    curves = [metric("rg", "temperature", T=t) for t in (1.5, 2.0, 2.5, 3.0, 3.5)]  # more than fit in rows
    runs = [(f"seed={s}", {acc: a, **{c: 2.0 + s + 0.1 * k for k, c in enumerate(curves)}})
            for s, a in enumerate([0.5, 0.6, 0.7])]
    lines = sweep_summary("smoke: seed=0,1,2", "FINISHED", "p1", 3, [SweepGroup("", runs)], [], "", "http://ui",
                          "python -m rgexp.report sweep=abc")
    assert lines[0] == "sweep 'smoke: seed=0,1,2' FINISHED: 3 of 3 runs finished (parent run p1)"
    head = next(line for line in lines if "quantity" in line).split()
    assert head[1:4] == ["seed=0", "seed=1", "seed=2"] and " ".join(head[4:]) == "mean [95% interval] (n)"
    row = next(line for line in lines if line.strip().startswith("thermometer held-out accuracy"))
    half = T975[2] * 0.1 / math.sqrt(3)
    assert row.split()[3:6] == ["0.5", "0.6", "0.7"]
    assert row.endswith(f"0.6 [{0.6 - half:.4g}, {0.6 + half:.4g}] (n=3)")
    ranged = next(line for line in lines if "RG steps end at T" in line)  # 5 curves: one row of ranges
    assert "(5 curves)" in ranged and "2…2.4" in ranged and "3…3.4" in ranged and ranged.endswith("means 3 … 3.4")
    assert lines[-2:] == ["  open: http://ui", "  report: python -m rgexp.report sweep=abc"]


def test_a_sweep_with_runs_that_did_not_finish_says_which():
    lines = sweep_summary("s: seed=0,1", "FAILED", "p1", 2, [SweepGroup("", [("seed=0", {})])],
                          ["seed=1 KILLED (resume: python -m rgexp resume=r1)"], "", "http://ui", "r")
    assert lines[0] == "sweep 's: seed=0,1' FAILED: 1 of 2 runs finished (parent run p1)"
    assert lines[1] == "  not finished: seed=1 KILLED (resume: python -m rgexp resume=r1)"
