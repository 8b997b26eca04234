"""The lines a run ends with (rgexp.summary): headline values with their intervals, ranges over
start temperatures, cost, and the model-training address of the run."""

from rgexp.summary import run_summary, ui_address


def test_summary_shows_what_was_measured_and_where_to_look():
    latest = {
        "thermometer/final/accuracy": (0, 0.061), "thermometer/final/accuracy_ci_low": (0, 0.058),
        "thermometer/final/accuracy_ci_high": (0, 0.064),
        "flow/temperature/T1.0000": (30, 1.74), "flow/temperature/Tinf": (30, 1.80),
        "flow/temperature_err/T1.0000": (30, 0.01),
        "fixed_point/temperature_energy": (27000, 1.905), "fixed_point/temperature_energy_err": (27000, 0.009),
        "perf/total_seconds": (0, 102.4), "perf/peak_rss_gb": (0, 1.26),
    }
    lines = run_summary("abc", "FINISHED", "rbm_flow", latest,
                        *ui_address("sqlite:///mlruns/mlflow.db", "3", "abc"))
    text = "\n".join(lines)
    assert lines[0] == "run abc FINISHED (experiment rbm_flow)"
    assert "thermometer held-out accuracy: 0.061 [0.058, 0.064]" in text
    assert "flows end at T (thermometer): 1.74 … 1.8 over 2 curves (last step 30)" in text
    assert "T* (energy): 1.905 ± 0.009" in text
    assert "cost: 102 s, peak memory 1.26 GB" in text
    assert "http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning" in text
    assert "mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db" in text
    assert "Δ_ε" not in text  # not measured, not shown
    assert ui_address("http://host:5000/", "1", "r")[1] == "http://host:5000/#/experiments/1/runs/r?workflowType=machine_learning"
