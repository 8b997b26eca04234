"""``python -m rgexp.report`` on runs the tests create: two smoke seeds through the pipeline, and
synthetic runs with known values logged through ``rgexp.tracking`` so that every verdict branch
(reproduced / not reproduced / inconclusive) is hit and checked exactly.

Expected numbers are computed here from the values logged (numpy/scipy), never from the report's
own code.
"""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from rgexp.report.__main__ import main
from rgexp.tracking import MLflowTracker, read_runs
from tests.conftest import compose_config

T_C = 2 / math.log(1 + math.sqrt(2))
NN = {"sampler._target_": "rgexp.ising.Ising2DSampler", "sampler.J": "1.0"}
LONG_RANGE = {"sampler._target_": "rgexp.ising.long_range.LongRangeSampler", "sampler.sigma": "1.5",
              "sampler.d": "2", "sampler.J": "1.0"}
CHAIN = {"sampler._target_": "rgexp.ising.chain1d.Chain1DSampler", "sampler.J": "1.0"}
# The report labels groups by the params that differ (class paths shortened to the class name).
NN_LABEL = "sampler.L={}, sampler._target_=Ising2DSampler"
LR_LABEL = "sampler.L=16, sampler._target_=LongRangeSampler"
CHAIN_LABEL = "sampler._target_=Chain1DSampler"


# ------------------------------------------------------------------------------------------ helpers
def md_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every Markdown table as (header, rows); ``\\|`` inside cells is unescaped."""
    tables, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            split = lambda l: [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", l)[1:-1]]
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(split(lines[j]))
                j += 1
            tables.append((split(line), rows))
    return tables


def table_after(text: str, heading: str) -> tuple[list[str], list[list[str]]]:
    return md_tables(text[text.index(heading):])[0]


def parse_pm(cell: str) -> tuple[float, float]:
    mean, std = cell.split(" (")[0].split(" ± ")
    return float(mean), float(std)


def assert_pm(cell: str, values: list[float]) -> None:
    """The cell is mean ± std (ddof = 1) of ``values``, to the digits it prints."""
    mean, std = parse_pm(cell)
    decimals = len(cell.split(" ± ")[1].split(" ")[0].partition(".")[2])
    half_ulp = 0.5 * 10.0 ** -decimals + 1e-12
    assert abs(mean - np.mean(values)) <= half_ulp, (cell, values)
    assert abs(std - np.std(values, ddof=1)) <= half_ulp, (cell, values)


def log_run(tracker: MLflowTracker, params: dict, seed: int, curves: dict[str, list[float]],
            status: str = "FINISHED", tags: dict | None = None) -> str:
    """A synthetic run: ``curves[name][step] = value``."""
    tracked = tracker.start(f"synthetic-{seed}", "synthetic: true\n", {**params, "seed": str(seed)}, tags or {})
    for name, values in curves.items():
        for step, value in enumerate(values):
            tracked.log_metrics({name: value}, step=step)
    tracked.flush()
    if status != "RUNNING":
        tracked.end(status)
    return tracked.run_id


# ------------------------------------------------------------------------------ pipeline runs (2 seeds)
@pytest.fixture(scope="module")
def smoke_runs(shared_root):
    """Two seeds of a shrunk smoke preset on one data set, in the experiment ``report_smoke``."""
    from omegaconf import open_dict

    from rgexp.pipeline import run

    # The runs' own figures are not what this test reads: not drawn (tracking.figures=false).
    base = ["experiment=smoke", "name=report_smoke", f"tracking.root={shared_root / 'mlruns'}",
            f"cache.directory={shared_root / 'cache'}", "progress=false", "tracking.figures=false", "data_seed=0",
            "sampler.n_samples=100", "model.train.epochs=2", "analysis.thermometer.epochs=3",
            "analysis.receptive=null", "analysis.scaling.n_boot=20", "analysis.scaling.operators=[sigma]",
            "flow.n_samples=100", "flow.n_steps=3", "rg.n_steps=1"]
    ids = []
    for seed in (0, 1):
        cfg = compose_config([*base, f"seed={seed}"])
        with open_dict(cfg):  # thermometers for coarse lattices (where the config has them): not needed
            if "coarse_lattices" in cfg.analysis.thermometer:
                cfg.analysis.thermometer.coarse_lattices = False
        ids.append(run(cfg)["run_id"])
    return ids


def test_report_on_pipeline_runs(smoke_runs, shared_root, tmp_path, capsys):
    root = shared_root / "mlruns"
    out = tmp_path / "report"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "mine.txt").write_text("the user's, not the report's")  # e.g. a store kept in out=
    assert main(["experiment=smoke", "name=report_smoke", f"tracking.root={root}", f"out={out}"]) == 0
    md = (out / "report.md").read_text()
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")

    def last(run_id: str, name: str) -> float:
        history = client.get_metric_history(run_id, name)
        return max(history, key=lambda m: m.step).value

    def at(run_id: str, name: str, step: int) -> float:
        return next(m.value for m in client.get_metric_history(run_id, name) if m.step == step)

    header, rows = table_after(md, "## Runs")
    assert rows == [["all runs", "2", "0, 1", ", ".join(r[:8] for r in smoke_runs)]]
    header, rows = table_after(md, "## Appendix B. Final values")
    assert header == ["metric", "reference", "all runs (n=2)"]
    final = {r[0]: r for r in rows}
    for name in ("flow/temperature/T1.5000", "flow/abs_magnetization/T3.5000", "rg/nn_correlation/T2.2692",
                 "thermometer/final/accuracy"):
        assert_pm(final[name][2], [last(r, name) for r in smoke_runs])
    assert float(final["flow/temperature/T1.5000"][1]) == pytest.approx(T_C, abs=5e-4)
    assert "flow/temperature_err/T1.5000" not in final  # companions are folded into their metric
    # The flow-temperature table: start T x flow length, mean ± std over the two seeds at each step.
    header, rows = table_after(md, "### flow/temperature")
    assert header == ["start T", "0", "1", "2", "3"]  # flow.n_steps=3
    row = next(r for r in rows if r[0] == "T3.5000")
    for step in range(4):
        assert_pm(row[1 + step], [at(r, "flow/temperature/T3.5000", step) for r in smoke_runs])
    # Every figure is linked from the Markdown and embedded, byte for byte, in the HTML.
    pngs = sorted((out / "figures").glob("*.png"))
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert pngs and sorted(links) == sorted(f"figures/{p.name}" for p in pngs)
    html = (out / "report.html").read_text()
    embedded = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(p.read_bytes() for p in pngs)
    assert "figures/" not in re.sub(r"<figcaption>.*?</figcaption>", "", html)  # nothing linked
    # Logged: one report run with the files, tagged, and skipped by the reader afterwards.
    exp = client.get_experiment_by_name("report_smoke")
    (report_run,) = client.search_runs([exp.experiment_id], "tags.rgexp_report = '1'")
    assert report_run.info.status == "FINISHED"
    assert set(report_run.data.tags["report_runs"].split(",")) == set(smoke_runs)
    files = {a.path for a in client.list_artifacts(report_run.info.run_id, "report")}
    assert files == {"report/report.md", "report/report.html", "report/figures"}  # only what the report wrote
    logged = {a.path for a in client.list_artifacts(report_run.info.run_id, "report/figures")}
    assert logged == {f"report/figures/{p.name}" for p in pngs}
    tracker = MLflowTracker(root=str(root), experiment="report_smoke")
    assert sorted(r.run_id for r in read_runs(tracker)) == sorted(smoke_runs)


# ------------------------------------------------------------------------------- synthetic runs
def flow_temperatures(last_low: float, last_high: float) -> dict[str, list[float]]:
    """Readings from T = 1.5 and 3.5 over three flow lengths, ending at the given values."""
    low = [1.6, (1.6 + last_low) / 2, last_low]
    high = [3.4, (3.4 + last_high) / 2, last_high]
    return {"flow/temperature/T1.5000": low, "flow/temperature_err/T1.5000": [0.02] * 3,
            "flow/temperature/T3.5000": high, "flow/temperature_err/T3.5000": [0.02] * 3}


def delta(values_at_end: float, half: float = 0.01) -> dict[str, list[float]]:
    """flow/delta_sigma over three flow lengths with a 90% interval of ± half."""
    curve = [0.125, 0.125, values_at_end]
    return {"flow/delta_sigma": curve, "flow/delta_sigma_ci_low": [v - half for v in curve],
            "flow/delta_sigma_ci_high": [v + half for v in curve]}


def decimated(k0: float, n: int) -> list[float]:
    out = [k0]
    for _ in range(n):
        out.append(0.5 * math.log(math.cosh(2 * out[-1])))
    return out


# (group params, per-seed delta_sigma at the last flow length, per-seed (T from 1.5, T from 3.5) at the end)
NN_GROUPS = {
    "8": ([0.120, 0.125, 0.130], [(2.24, 2.30), (2.27, 2.27), (2.30, 2.24)]),  # all reproduced
    "16": ([0.30, 0.31, 0.32], [(1.20, 3.90), (1.25, 3.85), (1.30, 3.80)]),    # all not reproduced
    "32": ([0.0, 0.125, 0.25], [(1.4, 2.3), (2.3, 3.6), (1.9, 2.9)]),          # too wide / mixed
    "64": ([0.125], [(2.27, 2.27)]),                                           # one run
}


@pytest.fixture(scope="module")
def synthetic(shared_root):
    tracker = MLflowTracker(root=str(shared_root / "mlruns"), experiment="report_synthetic")
    for L, (deltas, temps) in NN_GROUPS.items():
        for seed, (d, (t_low, t_high)) in enumerate(zip(deltas, temps)):
            # Δ_ε fitted at flow length 0 only: not evidence about the end of the flow.
            curves = {**delta(d), **flow_temperatures(t_low, t_high), "flow/delta_epsilon": [1.0]}
            log_run(tracker, {**NN, "sampler.L": L, "analysis.scaling.ci_level": "0.9"}, seed, curves)
    lr_deltas = [0.24, 0.25, 0.26]
    for seed, d in enumerate(lr_deltas):  # Δ_σ of the data = (2 − σ)/2; the flow stays at 1/8
        log_run(tracker, {**LONG_RANGE, "sampler.L": "16"}, seed,
                {"mc/delta_sigma": [d], "mc/delta_sigma_err": [0.005], "flow/delta_sigma": [0.125, 0.12 + 0.005 * seed],
                 "stack/temperature/T5.0000": [5.0, 4.5 - 0.1 * seed, 4.0 - 0.1 * seed]})
    exact = decimated(1.0, 3)
    chain_ids = []
    for seed in range(3):  # decimation measured with a little noise around the exact couplings
        noisy = [k + 0.002 * (seed - 1) for k in exact]
        curves = {"rg/coupling/T1.0000": noisy, "rg/coupling_err/T1.0000": [0.003] * 4,
                  "rg/coupling_exact/T1.0000": exact,
                  "variational/coupling/T1.0000": [math.atanh(math.tanh(k)) for k in exact],  # = exact, rounded
                  "receptive/RBM/radius": [1.0 + 0.1 * seed], "receptive/RBM/radius_err": [0.05],
                  "mc/delta_sigma/L10/T2.2692": [0.12 + 0.01 * seed],
                  "mc/delta_sigma_ci_low/L10/T2.2692": [0.1], "mc/delta_sigma_ci_high/L10/T2.2692": [0.15]}
        chain_ids.append(log_run(tracker, {**CHAIN, "sampler.N": "64"}, seed, curves,
                                 tags={"batch": "chain 'quoted'"}))
    log_run(tracker, {**NN, "sampler.L": "8"}, 99, {"flow/delta_sigma": [5.0]}, status="RUNNING")
    return {"lr_deltas": lr_deltas, "exact": exact, "chain_ids": chain_ids}


@pytest.fixture(scope="module")
def synthetic_report(synthetic, shared_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_report")
    args = ["name=report_synthetic", f"tracking.root={shared_root / 'mlruns'}", f"out={out}", "log=false"]
    assert main(args) == 0
    return (out / "report.md").read_text()


def verdicts(md: str) -> dict[tuple[str, str], dict[str, str]]:
    """(group, metric) -> its appendix row (a trend's curve: ``metric (last − first step)``)."""
    header, rows = table_after(md, "## Appendix A. Verdicts per metric")
    out = {(r[1], r[3]): dict(zip(header, r)) for r in rows}
    assert len(out) == len(rows), "a metric judged twice in one group"
    return out


def scorecard(md: str) -> dict[tuple[str, str, str], dict[str, str]]:
    """(claim, group, estimator) -> the scorecard row; a claim's text stands in its first row only."""
    header, rows = table_after(md, "## Scorecard")
    out, claim = {}, ""
    for r in rows:
        row = dict(zip(header, r))
        claim = row["claim"] or claim
        assert (claim, row["group"], row["estimator"]) not in out, row  # one row per claim, group, estimator
        out[(claim, row["group"], row["estimator"])] = row
    return out


@pytest.mark.parametrize("group,metric,verdict", [
    (NN_LABEL.format(8), "flow/delta_sigma", "reproduced"),
    (NN_LABEL.format(16), "flow/delta_sigma", "not reproduced"),
    (NN_LABEL.format(32), "flow/delta_sigma", "inconclusive"),
    (NN_LABEL.format(64), "flow/delta_sigma", "inconclusive"),
    (NN_LABEL.format(8), "flow/temperature/T1.5000", "reproduced"),
    (NN_LABEL.format(16), "flow/temperature/T3.5000", "not reproduced"),
    (NN_LABEL.format(8), "flow/temperature/T1.5000 (last − first step)", "reproduced"),
    (NN_LABEL.format(8), "flow/temperature/T3.5000 (last − first step)", "reproduced"),
    (NN_LABEL.format(16), "flow/temperature/T1.5000 (last − first step)", "not reproduced"),  # 1.6 -> 1.25
    (NN_LABEL.format(32), "flow/temperature/T3.5000 (last − first step)", "inconclusive"),
    (LR_LABEL, "mc/delta_sigma", "reproduced"),
    (LR_LABEL, "flow/delta_sigma", "reproduced"),  # "does NOT converge" holds
    (LR_LABEL, "stack/temperature/T5.0000 (last − first step)", "reproduced"),
    (CHAIN_LABEL, "rg/coupling/T1.0000", "reproduced"),
    (CHAIN_LABEL, "rg/coupling/T1.0000 (last − first step)", "reproduced"),
    (CHAIN_LABEL, "variational/coupling/T1.0000", "reproduced"),  # equal to the closed form to rounding
])
def test_each_verdict_branch(synthetic_report, group, metric, verdict):
    rows = verdicts(synthetic_report)
    assert (group, metric) in rows, sorted(rows)
    assert rows[(group, metric)]["verdict"] == verdict, rows[(group, metric)]


def test_verdict_reasons_and_intervals(synthetic_report, synthetic):
    rows = verdicts(synthetic_report)
    assert "wider than 0.125 ± 0.0312" in rows[(NN_LABEL.format(32), "flow/delta_sigma")]["why"]
    assert rows[(NN_LABEL.format(64), "flow/delta_sigma")]["why"] == "1 run(s) < min_runs=2"
    # claims whose metrics a group did not log have no rows (RG, the chain's stacked RBM)
    assert not [k for k in rows if k[1].startswith(("rg/temperature", "stack/coupling"))]
    assert (NN_LABEL.format(8), "mc/delta_sigma") not in rows  # only the long-range runs logged it
    assert rows[(NN_LABEL.format(8), "flow/delta_epsilon")]["verdict"] == "inconclusive"
    assert rows[(NN_LABEL.format(8), "flow/delta_epsilon")]["why"] == "metric missing at the stage's last step"
    # L = 8: the seeds' scatter dominates their ±0.01 intervals: mean ± t(0.975, 2)·s/√3.
    x = np.array(NN_GROUPS["8"][0])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / math.sqrt(3)
    lo, hi = map(float, rows[(NN_LABEL.format(8), "flow/delta_sigma")]["95% interval"].strip("[]").split(","))
    assert lo == pytest.approx(x.mean() - half, rel=1e-3) and hi == pytest.approx(x.mean() + half, rel=1e-3)
    assert "0.25" in rows[(LR_LABEL, "mc/delta_sigma")]["reference"]
    assert rows[(LR_LABEL, "flow/delta_sigma")]["reference"].startswith("≠ 0.25")
    exact = synthetic["exact"][-1]
    assert f"= {exact:.4g}" in rows[(CHAIN_LABEL, "rg/coupling/T1.0000")]["reference"]
    assert f"= {exact:.4g}" in rows[(CHAIN_LABEL, "variational/coupling/T1.0000")]["reference"]


FLOW_TC = "the RBM flow approaches T_c (every start ends at the fixed point) (dmk2020 §III-A)"


@pytest.mark.parametrize("claim,group,estimator,verdict", [
    (FLOW_TC, NN_LABEL.format(8), "by start temperature", "reproduced"),
    (FLOW_TC, NN_LABEL.format(16), "by start temperature", "not reproduced"),
    (FLOW_TC, NN_LABEL.format(32), "by start temperature", "inconclusive"),  # seeds end 1.85, 2.95, 2.4
    ("long range: the RBM flow does NOT converge to the correct Δ_σ (short2020 abstract)", LR_LABEL,
     "each metric at its last step", "reproduced"),
    ("long range: the stacked RBM moves toward low temperature (short2020 abstract)", LR_LABEL,
     "last − first step, every curve", "reproduced"),
])
def test_scorecard_rows(synthetic_report, claim, group, estimator, verdict):
    rows = scorecard(synthetic_report)
    assert (claim, group, estimator) in rows, sorted(rows)
    assert rows[(claim, group, estimator)]["verdict"] == verdict, rows[(claim, group, estimator)]


@pytest.mark.parametrize("claim,group,kind", [
    ("1D: decimation flows to the stable fixed point K* = 0 (exact)", CHAIN_LABEL, "baseline (measured vs exact)"),
    ("the RBM stack of the exact variational-RG mapping reproduces decimation (mehta2014)", CHAIN_LABEL,
     "construction (cannot fail on data)"),
    ("Δ_σ at T_c equals the exact value (exact)", LR_LABEL, "baseline (measured vs exact)"),
])
def test_checks_of_exact_results_are_a_table_of_their_own(synthetic_report, claim, group, kind):
    header, rows = table_after(synthetic_report, "## Checks of exact results")
    found = [dict(zip(header, r)) for r in rows if r[0] == claim and r[2] == group]
    assert len(found) == 1 and found[0]["kind"] == kind and found[0]["verdict"] == "reproduced", found
    assert claim not in synthetic_report[synthetic_report.index("## Scorecard"):
                                         synthetic_report.index("## Checks of exact results")]


def test_scorecard_summarises_starts_and_skips_what_was_not_logged(synthetic_report):
    rows = scorecard(synthetic_report)
    assert synthetic_report.index("## Scorecard") < synthetic_report.index("## Appendix A")
    fixed_point = rows[(FLOW_TC, NN_LABEL.format(8), "by start temperature")]
    assert "over 2 starts" in fixed_point["value [interval] (n)"] and fixed_point["why"].startswith("2 starts end")
    assert not any("T1.5000" in row["estimator"] + row["value [interval] (n)"] for row in rows.values())
    # dmk2020's claims are about the 2D nearest-neighbour model: none for the long-range or 1D runs,
    # and none for estimators the runs did not log (binned, Δ_σ from ⟨|m|⟩).
    assert all(group.startswith("sampler.L=") and "Ising2D" in group for (c, group, _) in rows if "dmk2020" in c)
    assert not any(e.startswith("binned") for (_, _, e) in rows)
    assert not any(c.startswith("Δ_σ from ⟨|m|⟩") for (c, _, _) in rows)
    # Δ_ε fitted at flow length 0 only: shown, but inconclusive (not the end of the flow).
    (epsilon,) = [r for (c, g, e), r in rows.items() if c.startswith("Δ_ε") and g == NN_LABEL.format(8)]
    assert epsilon["verdict"] == "inconclusive" and epsilon["reference"].startswith("≠ 1 ")


def test_final_values_are_mean_and_std_of_what_was_logged(synthetic_report, synthetic):
    header, rows = table_after(synthetic_report, "## Appendix B. Final values")
    columns = {h.split(" (n=")[0]: i for i, h in enumerate(header)}
    final = {r[0]: r for r in rows}
    for L, (deltas, temps) in NN_GROUPS.items():
        cell = final["flow/delta_sigma"][columns[NN_LABEL.format(L)]]
        if len(deltas) > 1:
            assert_pm(cell, deltas)
            assert_pm(final["flow/temperature/T3.5000"][columns[NN_LABEL.format(L)]], [t[1] for t in temps])
        else:
            assert float(cell) == pytest.approx(deltas[0], abs=5e-4)
    assert_pm(final["mc/delta_sigma"][columns[LR_LABEL]], synthetic["lr_deltas"])
    # Companions on the last segment and on the observable of an /L/T-qualified name are folded in.
    assert_pm(final["receptive/RBM/radius"][columns[CHAIN_LABEL]], [1.0, 1.1, 1.2])
    assert_pm(final["mc/delta_sigma/L10/T2.2692"][columns[CHAIN_LABEL]], [0.12, 0.13, 0.14])
    assert not {"receptive/RBM/radius_err", "mc/delta_sigma_ci_low/L10/T2.2692", "rg/coupling_err/T1.0000",
                "rg/coupling_exact/T1.0000"} & set(final)
    assert "Skipped 1 unfinished run(s)" in synthetic_report  # the RUNNING run is not averaged in


@pytest.mark.parametrize("selection,expected", [("tag", [0, 1, 2]), ("runs", [2, 0])])
def test_selection_by_tag_or_run_ids(selection, expected, synthetic, shared_root, tmp_path):
    ids = synthetic["chain_ids"]
    arg = "tag.batch=chain 'quoted'" if selection == "tag" else f"runs={ids[2]},{ids[0]}"
    args = ["name=report_synthetic", f"tracking.root={shared_root / 'mlruns'}", f"out={tmp_path}", "log=false"]
    assert main([*args, arg]) == 0
    header, rows = table_after((tmp_path / "report.md").read_text(), "## Runs")
    chosen = sorted(expected)  # the report lists runs oldest first
    assert rows == [["all runs", str(len(chosen)), ", ".join(map(str, chosen)), ", ".join(ids[i][:8] for i in chosen)]]


# ------------------------------------------------------------------------------------- bad input
def test_bad_argument_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rgexp.report", "experiment=smoke", "sweeep=abc"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "rgexp.report: error: unknown key 'sweeep'; allowed: sweep, runs, tag.<key>, out, level, min_runs, "
        "log, experiment, name, tracking, tracking.<key>"]
    assert not (tmp_path / "reports").exists() and not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize("args,message", [
    (["level=1.5"], "level must be a number in (0, 1), got '1.5'"),
    (["min_runs=0"], "min_runs must be an integer >= 1, got '0'"),
    (["experiment=no_such_preset"], "Could not find 'experiment/no_such_preset'"),
    (["name=no_such_experiment"], "no MLflow experiment 'no_such_experiment'"),
    (["name=report_synthetic", "sweep=nope"], "no finished runs match"),
    (["runs=0123456789abcdef0123456789abcdef"], "runs: no run '0123456789abcdef0123456789abcdef'"),
])
def test_bad_selection_is_one_line_exit_2(args, message, synthetic, shared_root, capsys):
    assert main([*args, f"tracking.root={shared_root / 'mlruns'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rgexp.report: error: ") and message in err[0], err


def test_missing_store_is_refused_not_created(tmp_path, capsys):
    assert main(["experiment=smoke", f"tracking.root={tmp_path / 'nowhere'}"]) == 2
    assert "no MLflow store at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
