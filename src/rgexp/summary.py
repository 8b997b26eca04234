"""The few lines a run ends with: its id and status, the headline numbers of what it measured, its
cost, and where to look. Pure: it formats the run's latest metric values (``TrackedRun.latest``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from rgexp.metric_names import (ANY, CENSORED, CI_HIGH, CI_LOW, ERR, PEAK_RSS_GB, SECONDS, Select, companions_of,
                                cost_metric)

__all__ = ["HEADLINES", "run_summary", "ui_address"]

Latest = Mapping[str, tuple[int, float]]  # metric -> (its last step, its value there)

# (label, the metrics): shown where logged; a selector of one metric shows its value, one with an
# ANY field (a start temperature, a layer) the range over the curves it matches
HEADLINES: tuple[tuple[str, Select], ...] = (
    ("thermometer held-out accuracy", Select(stage="thermometer", path=("final",), observable="accuracy")),
    ("flows end at T (thermometer)", Select(stage="flow", observable="temperature", T=ANY)),
    ("⟨|m|⟩ at the flows' end", Select(stage="flow", observable="abs_magnetization", T=ANY)),
    ("pooled flow, binned by class: T", Select(stage="flow_binned", observable="temperature")),
    ("Δ_σ from ⟨|m|⟩, binned (the paper's Fig. 2)", Select(stage="flow_binned", observable="delta_sigma_from_m")),
    ("Δ_σ along the flow (correlators)", Select(stage="flow", observable="delta_sigma")),
    ("Δ_ε along the flow (correlators)", Select(stage="flow", observable="delta_epsilon")),
    ("fixed point at the end of training: T* (energy)", Select(stage="fixed_point", observable="temperature_energy")),
    ("fixed point: m*", Select(stage="fixed_point", observable="abs_magnetization")),
    ("RG steps end at T", Select(stage="rg", observable="temperature", T=ANY)),
    ("stack layers read T", Select(stage="stack", observable="temperature", T=ANY)),
    ("Monte Carlo T_c (Binder)", Select(stage="mc", observable="T_c")),
    ("Δ_σ (Monte Carlo, finite-size scaling)", Select(stage="mc", observable="delta_sigma")),
    ("receptive-field radius", Select(stage="receptive", path=ANY, observable="radius")),
    ("couplings of the last layer", Select(stage="stack", observable="coupling", T=ANY)),
    ("configurations per temperature: flows", Select(stage="flow", observable="n_configurations")),
    ("configurations per temperature: RG steps", Select(stage="rg", observable="n_configurations")),
    ("configurations per temperature: stack layers", Select(stage="stack", observable="n_configurations")),
    ("configurations: receptive fields", Select(stage="receptive", observable="n_configurations")),
)
TOTAL_SECONDS, PEAK_MEMORY = cost_metric(None, SECONDS), cost_metric(None, PEAK_RSS_GB)


def _censored(latest: Latest, name: str, found: dict[str, str], lo: float, hi: float) -> int:
    """The side at which a fit's interval reached its search bound: logged with the fit, or (older
    runs) inferred from today's bounds."""
    if CENSORED in found and not math.isnan(side := latest[found[CENSORED]][1]):
        return 0 if side == 0 else int(math.copysign(1, side))
    from rgexp.analysis.scaling import censored_metric  # scipy: imported when an interval is shown

    return censored_metric(name, lo, hi)


def _one(latest: Latest, name: str) -> str:
    """The value with its interval (or error) from its logged companions (rgexp.metric_names)."""
    value, found = latest[name][1], companions_of(name, latest.keys())
    if CI_LOW in found and CI_HIGH in found:
        lo, hi = latest[found[CI_LOW]][1], latest[found[CI_HIGH]][1]
        side = _censored(latest, name, found, lo, hi)
        note = f" (censored: the fit reached its search bound {lo if side < 0 else hi:g})" if side else ""
        return f"{value:.4g} [{lo:.4g}, {hi:.4g}]{note}"
    err = latest[found[ERR]][1] if ERR in found else None
    return f"{value:.4g} ± {err:.2g}" if err is not None and math.isfinite(err) else f"{value:.4g}"


def _headline(latest: Latest, label: str, select: Select) -> str | None:
    if (name := select.name) is not None:
        return f"{label}: {_one(latest, name)}" if name in latest else None
    hits = {n: latest[n] for n in select.select(latest)}  # values only: companions have their own role
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
    lines += [f"  {h}" for label, select in HEADLINES if (h := _headline(latest, label, select))]
    if TOTAL_SECONDS in latest:
        rss = latest.get(PEAK_MEMORY, (0, math.nan))[1]
        lines.append(f"  cost: {latest[TOTAL_SECONDS][1]:.0f} s, peak memory {rss:.2f} GB (perf/*)")
    if open_with:
        lines.append(f"  open: {open_with}   then {address}")
    else:
        lines.append(f"  open: {address}")
    lines.append(f"  report: python -m rgexp.report experiment={experiment}")
    return lines
