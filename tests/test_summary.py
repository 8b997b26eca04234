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


def test_a_delta_interval_at_the_fits_search_bound_is_shown_as_censored():
    """An interval that ends at the profile fit's search bound (Δ = −2 or 8) bounds Δ on one side
    only, and is shown as that bound; an ordinary interval is printed as it is."""
    latest = {"flow/delta_epsilon": (10, 0.04), "flow/delta_epsilon_ci_low": (10, -2.0),
              "flow/delta_epsilon_ci_high": (10, 0.0305),
              "flow/delta_sigma": (10, 0.12), "flow/delta_sigma_ci_low": (10, 0.11),
              "flow/delta_sigma_ci_high": (10, 0.13)}
    text = "\n".join(run_summary("abc", "FINISHED", "x", latest, "", ""))
    assert ("Δ_ε along the flow (correlators): < 0.0305 (censored: the fit reached its search bound -2; "
            "best fit 0.04)") in text
    assert "Δ_σ along the flow (correlators): 0.12 [0.11, 0.13]\n" in text + "\n"


def test_the_censoring_a_fit_logged_wins_over_today_s_search_bounds():
    """A fit that logs its ``censored`` side is shown as it said; older runs are inferred."""
    latest = {"flow/delta_epsilon": (10, 0.04), "flow/delta_epsilon_ci_low": (10, -2.0),
              "flow/delta_epsilon_ci_high": (10, 0.0305), "flow/delta_epsilon_censored": (10, 0.0),
              "flow/delta_sigma": (10, 0.12), "flow/delta_sigma_ci_low": (10, 0.11),
              "flow/delta_sigma_ci_high": (10, 0.13), "flow/delta_sigma_censored": (10, 1.0)}
    text = "\n".join(run_summary("abc", "FINISHED", "x", latest, "", ""))
    assert "Δ_ε along the flow (correlators): 0.04 [-2, 0.0305]\n" in text
    assert ("Δ_σ along the flow (correlators): > 0.11 (censored: the fit reached its search bound 0.13; "
            "best fit 0.12)") in text
