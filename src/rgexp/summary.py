"""The few lines a run ends with: its id and status, the headline numbers of what it measured, its
cost, and where to look. Pure: it formats the run's latest metric values (``TrackedRun.latest``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from rgexp.metric_names import CI_HIGH, CI_LOW, ERR, companions_of

__all__ = ["HEADLINES", "headline_regex", "run_summary", "ui_address"]

Latest = Mapping[str, tuple[int, float]]  # metric -> (its last step, its value there)

# (label, metric; "*" stands for the start temperature T<T> or a layer name): shown where logged
HEADLINES: tuple[tuple[str, str], ...] = (
    ("thermometer held-out accuracy", "thermometer/final/accuracy"),
    ("flows end at T (thermometer)", "flow/temperature/T*"),
    ("⟨|m|⟩ at the flows' end", "flow/abs_magnetization/T*"),
    ("pooled flow, binned by class: T", "flow_binned/temperature"),
    ("Δ_σ from ⟨|m|⟩, binned (the paper's Fig. 2)", "flow_binned/delta_sigma_from_m"),
    ("Δ_σ along the flow (correlators)", "flow/delta_sigma"),
    ("Δ_ε along the flow (correlators)", "flow/delta_epsilon"),
    ("fixed point at the end of training: T* (energy)", "fixed_point/temperature_energy"),
    ("fixed point: m*", "fixed_point/abs_magnetization"),
    ("RG steps end at T", "rg/temperature/T*"),
    ("stack layers read T", "stack/temperature/T*"),
    ("Monte Carlo T_c (Binder)", "mc/T_c"),
    ("Δ_σ (Monte Carlo, finite-size scaling)", "mc/delta_sigma"),
    ("receptive-field radius", "receptive/*/radius"),
    ("couplings of the last layer", "stack/coupling/T*"),
    ("configurations per temperature: flows", "flow/n_configurations"),
    ("configurations per temperature: RG steps", "rg/n_configurations"),
    ("configurations per temperature: stack layers", "stack/n_configurations"),
    ("configurations: receptive fields", "receptive/n_configurations"),
)


def _one(latest: Latest, name: str) -> str:
    """The value with its interval (or error) from its logged companions (rgexp.metric_names)."""
    value, found = latest[name][1], companions_of(name, latest.keys())
    if CI_LOW in found and CI_HIGH in found:
        lo, hi = latest[found[CI_LOW]][1], latest[found[CI_HIGH]][1]
        from rgexp.analysis.scaling import censored_metric  # scipy: imported when an interval is shown

        side = censored_metric(name, lo, hi)
        note = f" (censored: the fit reached its search bound {lo if side < 0 else hi:g})" if side else ""
        return f"{value:.4g} [{lo:.4g}, {hi:.4g}]{note}"
    err = latest[found[ERR]][1] if ERR in found else None
    return f"{value:.4g} ± {err:.2g}" if err is not None and math.isfinite(err) else f"{value:.4g}"


def headline_regex(pattern: str) -> re.Pattern:
    """A headline's metric as a regex: ``*`` is one segment (``T1.5000``, a layer's name)."""
    return re.compile(re.escape(pattern).replace(r"\*", r"([^/]+)"))


def _headline(latest: Latest, label: str, pattern: str) -> str | None:
    if "*" not in pattern:
        return f"{label}: {_one(latest, pattern)}" if pattern in latest else None
    regex = headline_regex(pattern)
    hits = {n: v for n, v in latest.items() if regex.fullmatch(n)}  # companions never match: their suffix
    # sits on the last segment that is not a qualifier (flow/temperature_err/T…, …/radius_err)
    if not hits:
        return None
    values = [v for _, v in hits.values()]
    step = max(s for s, _ in hits.values())
    if len(values) == 1:
        return f"{label}: {_one(latest, next(iter(hits)))} (step {step})"
    return f"{label}: {min(values):.4g} … {max(values):.4g} over {len(values)} curves (last step {step})"


def ui_address(tracking_uri: str, experiment_id: str, run_id: str) -> tuple[str, str]:
    """(how to open the UI, the run's address) — the model-training view of the MLflow UI."""
    path = f"#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    if tracking_uri.startswith(("http://", "https://")):
        return "", f"{tracking_uri.rstrip('/')}/{path}"
    return (f"mlflow ui --backend-store-uri {tracking_uri} --host 127.0.0.1 --port 5000",
            f"http://127.0.0.1:5000/{path}")


def run_summary(run_id: str, status: str, experiment: str, latest: Latest, open_with: str,
                address: str) -> list[str]:
    """The lines printed when a run ends (without the ``rgexp:`` prefix of the first)."""
    lines = [f"run {run_id} {status} (experiment {experiment})"]
    lines += [f"  {h}" for label, pattern in HEADLINES if (h := _headline(latest, label, pattern))]
    if "perf/total_seconds" in latest:
        rss = latest.get("perf/peak_rss_gb", (0, math.nan))[1]
        lines.append(f"  cost: {latest['perf/total_seconds'][1]:.0f} s, peak memory {rss:.2f} GB (perf/*)")
    if open_with:
        lines.append(f"  open: {open_with}   then {address}")
    else:
        lines.append(f"  open: {address}")
    lines.append(f"  report: python -m rgexp.report experiment={experiment}")
    return lines
