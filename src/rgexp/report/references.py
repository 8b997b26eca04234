"""What the report compares against: exact values and the sources' claims, as data.

Two declarative tables, read top to bottom (for a metric, the first matching reference wins):

- ``REFERENCES``: a selector of metric names (:class:`rgexp.metric_names.Select`) -> a reference value (computed from the run's params, or
  read from another metric of the run, e.g. its ``_exact`` companion) with the resolution the
  check must reach (``tolerance``) and whether the source claims the metric equals it or differs;
- ``TRENDS``: qualitative claims about a curve against step (flow length, RG step, layer): the
  distance to a target shrinks or grows, or the value goes down or up.

The model comes from the run's ``sampler._target_`` and params: a reference's value is None for a
model it does not apply to and each trend names its models, so the 2D nearest-neighbour T_c is
never held against a long-range or 1D run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from rgexp.ising import T_C  # Onsager, J = k_B = 1
from rgexp.metric_names import ANY, EXACT, OPTIONAL, MetricName, Select

__all__ = ["T_C", "SOURCES", "Reference", "Trend", "REFERENCES", "TRENDS", "model_of", "critical_temperature",
           "delta_sigma", "reference_for", "trends_for"]

SOURCES: dict[str, str] = {
    "exact": "exact and theory values: Onsager's T_c; the 2D Ising CFT (Δ_σ = 1/8, Δ_ε = 1); 1D "
             "decimation tanh K' = tanh² K (fixed points K* = 0, ∞); long range η = 2 − σ, i.e. "
             "Δ_σ = (2 − σ)/2 in d = 2 for σ < 7/4 (Fisher, Ma & Nickel, PRL 29, 917 (1972); Sak, "
             "PRB 8, 281 (1973))",
    "dmk2020": "R. de Mello Koch, E. de Mello Koch, L. Cheng, Is Deep Learning a Renormalization Group Flow?, "
               "IEEE Access 8 (2020)",
    "iso2018": "S. Iso, S. Shiba, S. Yokoo, Scale-invariant feature extraction of neural network and "
               "renormalization group flow, Phys. Rev. E 97, 053304 (2018)",
    "mehta2014": "P. Mehta, D. J. Schwab, An exact mapping between the Variational Renormalization Group and "
                 "Deep Learning, arXiv:1410.3831 (2014)",
    "short2020": "E. de Mello Koch, R. de Mello Koch, A. Kastanos, L. Cheng, Short sighted deep learning, "
                 "Phys. Rev. E 102, 013307 (2020)",
    "gong2022": "F. Gong, Z. Xia, Interpreting Deep Learning by Establishing a Rigorous Corresponding "
                "Relationship with Renormalization Group, arXiv:2212.00005 (2022)",
}

Model = Literal["nn2d", "long_range", "chain1d", "unknown"]
Params = Mapping[str, str]


def model_of(params: Params) -> Model:
    """Which Ising model a run sampled, from its logged params."""
    target = params.get("sampler._target_", "")
    if "sampler.sigma" in params or "LongRange" in target:
        return "long_range"
    if "Chain1D" in target or "chain1d" in target:
        return "chain1d"
    if "Ising2D" in target:
        return "nn2d"
    return "unknown"


def _number(params: Params, key: str, default: float) -> float:
    try:
        return float(params.get(key, default))
    except ValueError:
        return default


def critical_temperature(params: Params) -> float | None:
    """T_c = 2|J|/ln(1+√2) of the 2D nearest-neighbour model (None for other models)."""
    return T_C * abs(_number(params, "sampler.J", 1.0)) if model_of(params) == "nn2d" else None


def delta_sigma(params: Params) -> float | None:
    """Δ_σ: 1/8 for 2D nearest neighbour; long range in d = 2: (2 − σ)/2 for σ < 7/4 (η = 2 − σ),
    1/8 (short-range class) for σ ≥ 7/4; None where no value is known (1D, long range in d = 1)."""
    model = model_of(params)
    if model == "nn2d":
        return 0.125
    if model == "long_range" and _number(params, "sampler.d", 2) == 2:
        sigma = _number(params, "sampler.sigma", math.nan)
        if math.isnan(sigma):
            return None
        return (2.0 - sigma) / 2.0 if sigma < 1.75 else 0.125
    return None


def _delta_epsilon(params: Params) -> float | None:
    return 1.0 if model_of(params) == "nn2d" else None


def _zero(params: Params) -> float:
    return 0.0


@dataclass(frozen=True)
class Reference:
    """A reference value for the metrics that ``select`` matches.

    value:     from the run's params (None: no reference for this run); with ``reference_metric``
               set, the reference is instead another metric of the same run at the same step,
               ``reference_metric(metric, names)`` (None when the run did not log it);
    tolerance: the deviation the check must be able to resolve: rel_tol·|reference| + abs_tol;
    expect:    "equal" (the source says the metric equals the reference) or "differ".
    """

    key: str
    select: Select
    label: str
    claim: str
    source: str
    value: Callable[[Params], float | None] | None = None
    reference_metric: Callable[[str, Collection[str]], str | None] | None = None
    rel_tol: float = 0.25
    abs_tol: float = 0.0
    expect: Literal["equal", "differ"] = "equal"

    def tolerance(self, reference: float) -> float:
        return self.rel_tol * abs(reference) + self.abs_tol


@dataclass(frozen=True)
class Trend:
    """A claim about a curve against step: the first and the last step of every matching metric.

    direction: "toward" / "away" — |value − target| shrinks / grows; "down" / "up" — value falls / rises.
    A curve's start temperature (its ``T``) labels it and, with ``both_sides``, the claim needs
    starts below and above the target. Starts within 1% of the target are skipped
    (a flow that starts at the fixed point cannot approach it).
    """

    key: str
    select: Select
    models: tuple[Model, ...]
    direction: Literal["toward", "away", "down", "up"]
    claim: str
    source: str
    target: Callable[[Params], float | None] | None = None
    both_sides: bool = False


_STAGES = ("data", "mc", "flow", "rg", "stack")
# The flow read per start temperature (flow/…) or pooled and binned by the thermometer's class
# (flow_binned/…) or by the energy thermometer (flow_binned_energy/…).
_FLOW = ("flow", "flow_binned", "flow_binned_energy")
_DELTA_SIGMA = ("delta_sigma", "delta_sigma_from_m")


def _exact_companion(name: str, names: Collection[str]) -> str | None:
    exact = MetricName.parse(name).with_role(EXACT).format()
    return exact if exact in names else None


def _decimation_exact(name: str, names: Collection[str]) -> str | None:
    """``variational/coupling/T1.0000`` -> ``rg/coupling_exact/T1.0000`` (b = 2 decimation, exact)."""
    exact = MetricName("rg", "coupling", T=MetricName.parse(name).T, role=EXACT).format()
    return exact if exact in names else None


REFERENCES: tuple[Reference, ...] = (
    Reference("variational", Select(stage="variational", observable="coupling", T=OPTIONAL),
              "decimation K' = ½ ln cosh 2K",
              "the RBM stack of the exact variational-RG mapping reproduces decimation", "mehta2014",
              reference_metric=_decimation_exact, rel_tol=0.05, abs_tol=0.01),
    Reference("exact_companion", Select(path=OPTIONAL, L=OPTIONAL, T=OPTIONAL), "the logged exact value",
              "equals the exact value logged with it (e.g. 1D decimation, K' = ½ ln cosh 2K)",
              "exact", reference_metric=_exact_companion, rel_tol=0.05, abs_tol=0.01),
    Reference("lr_flow_delta", Select(stage=_FLOW, observable=_DELTA_SIGMA), "Δ_σ = (2 − σ)/2",
              "long range: the RBM flow does NOT converge to the correct Δ_σ", "short2020",
              value=lambda p: delta_sigma(p) if model_of(p) == "long_range" else None, expect="differ"),
    Reference("flow_delta_sigma", Select(stage=_FLOW, observable=_DELTA_SIGMA), "Δ_σ = 1/8",
              "Δ_σ along the RBM flow converges to 1/8", "dmk2020", value=delta_sigma),
    # dmk2020 §III-B (Fig. 6b): the flow does NOT reproduce Δ_ε = 1 near T_c.
    Reference("flow_delta_epsilon", Select(stage=_FLOW, observable=("delta_epsilon", "delta_epsilon_plane"),
                                           T=OPTIONAL), "Δ_ε = 1",
              "Δ_ε along the RBM flow does not converge to 1", "dmk2020", value=_delta_epsilon, expect="differ"),
    Reference("delta_sigma", Select(stage=_STAGES, observable=_DELTA_SIGMA), "Δ_σ",
              "Δ_σ at T_c equals the exact value", "exact", value=delta_sigma),
    Reference("delta_epsilon", Select(stage=_STAGES, observable="delta_epsilon"), "Δ_ε = 1", "Δ_ε at T_c equals 1",
              "exact", value=_delta_epsilon),
    Reference("mc_tc", Select(stage="mc", observable="T_c"), "T_c = 2/ln(1+√2)", "Binder crossings give Onsager's T_c",
              "exact", value=critical_temperature, rel_tol=0.02),
    Reference("flow_temperature", Select(stage="flow", observable="temperature", T=ANY), "T_c = 2/ln(1+√2)",
              "the RBM flow ends at T_c (its fixed point)", "dmk2020", value=critical_temperature, rel_tol=0.1),
    Reference("flow_binned_temperature", Select(stage=("flow_binned", "flow_binned_energy"), observable="temperature"),
              "T_c = 2/ln(1+√2)", "the RBM flow ends at T_c (thermometer reading pooled over all starts)", "dmk2020",
              value=critical_temperature, rel_tol=0.1),
)

TRENDS: tuple[Trend, ...] = (
    Trend("flow_to_tc", Select(stage="flow", observable="temperature", T=ANY), ("nn2d",), "toward",
          "the RBM flow drives the temperature toward T_c, from both sides", "dmk2020, iso2018",
          target=critical_temperature, both_sides=True),
    Trend("rg_from_tc", Select(stage="rg", observable="temperature", T=ANY), ("nn2d",), "away",
          "block-spin RG moves the temperature away from T_c", "dmk2020",
          target=critical_temperature, both_sides=True),
    Trend("lr_stack_down", Select(stage="stack", observable="temperature", T=ANY), ("long_range",), "down",
          "long range: the stacked RBM moves toward low temperature", "short2020"),
    Trend("lr_rg_up", Select(stage="rg", observable="temperature", T=ANY), ("long_range",), "up",
          "long range: RG moves toward high temperature", "short2020"),
    Trend("stack_coupling", Select(stage="stack", observable="coupling", T=OPTIONAL), ("chain1d",), "toward",
          "1D: the network's output coupling tends to the stable fixed point K* = 0", "gong2022", target=_zero),
    Trend("variational_coupling", Select(stage="variational", observable="coupling", T=OPTIONAL), ("chain1d",),
          "toward", "1D: the variational-RG RBM stack flows to K* = 0", "mehta2014", target=_zero),
    Trend("rg_coupling", Select(stage="rg", observable="coupling", T=OPTIONAL), ("chain1d",), "toward",
          "1D: decimation flows to the stable fixed point K* = 0", "exact", target=_zero),
)


def reference_for(metric: str, params: Params, names: set[str]) -> Reference | None:
    """The first reference that matches ``metric`` and has a value for this run (``names``: the
    run's metric names, for companion references)."""
    for ref in REFERENCES:
        if not ref.select.matches(metric):
            continue
        if ref.reference_metric is not None:
            if ref.reference_metric(metric, names) is not None:
                return ref
        elif ref.value is not None and ref.value(params) is not None:
            return ref
    return None


def trends_for(params: Params) -> list[Trend]:
    """The trend claims that apply to runs with these params."""
    model = model_of(params)
    return [t for t in TRENDS if model in t.models]
