"""Metric names: the one contract between the stages that log metrics and everything that reads them.

A name is a :class:`MetricName`, written as ``/``-separated segments: ``<stage>[/<path>…]/<observable>``,
then the qualifiers ``/L<L>`` (a lattice size) and ``/T<T>`` (a start or bin temperature,
:func:`format_temperature`; ``Tinf`` for a random start):

    flow/temperature/T1.5000        the thermometer's reading along the flow started at T = 1.5
    mc/delta_sigma/L10/T2.2692      Δ_σ of the Monte Carlo data of L = 10 at T = 2.2692
    receptive/RBM/radius            the receptive-field radius of a layer (path ``RBM``)
    thermometer/L4/final/accuracy   the held-out accuracy of the thermometer of 4×4 lattices
    mc/T2.0000/tau_int_absm         bookkeeping of the Monte Carlo chain at T = 2

In the last two the qualifiers follow the stage (``stage_qualified``): they qualify the stage (the
thermometer of a lattice, the chain at a temperature), not the observable. The step a metric is
logged at is its flow length, RG step, layer or training update.

A name's ``role`` is ``value`` or a companion of the value named by ONE rule: the role's suffix
(``_err``, ``_ci_low``, ``_ci_high``, ``_ci_level``, ``_exact``, ``_n_eff``, ``_tau_int``,
``_censored``) ends the observable: ``flow/temperature_err/T1.5000``, ``receptive/RBM/radius_err``,
``mc/delta_sigma_ci_low/L10/T2.2692``. ``censored`` is the side (−1 / 0 / +1) at which a fit's
interval reached the fit's search bound.

Writers build names with :class:`MetricName` (``str(MetricName("flow", "temperature", T=1.5))``) or
:func:`metric`, :func:`companion`, :func:`with_companions` (``censored=`` a fit's side) and
:func:`estimate_metrics`; run costs with :func:`cost_metric` (``perf/<stage>_seconds``). Readers
parse names with :meth:`MetricName.parse` (:func:`parse_cost`) and pick them with a :class:`Select`
(:mod:`rgexp.metric_names.select`: by fields, any temperature, the grid point nearest T_c, a role;
also as plain data) — nothing outside this package takes a metric name apart. Parsing is by
syntax: ``train/kl_exact`` reads as the exact companion of ``train/kl`` whether or not that was
logged. No I/O; the standard library only.

Runs logged before this contract named the thermometer's final metrics ``X_value`` with
``X_error``, ``X_ci_low``, …: :meth:`MetricName.parse` reads those (``legacy``).
"""

from rgexp.metric_names.name import (CENSORED, CI_HIGH, CI_LEVEL, CI_LOW, ERR, EXACT, N_EFF, PEAK_RSS_GB, ROLES,
                                    SECONDS, TAU_INT, VALUE, MetricName, companion, companions_of, cost_metric,
                                    estimate_metrics, format_size, format_temperature, hidden_companions,
                                    is_scaling_dimension, metric, parse_cost, parse_temperature,
                                    printed_temperature, stage_of, try_parse, with_companions)
from rgexp.metric_names.select import ANY, OPTIONAL, Near, Select

__all__ = ["VALUE", "ERR", "CI_LOW", "CI_HIGH", "CI_LEVEL", "EXACT", "N_EFF", "TAU_INT", "CENSORED", "ROLES",
           "MetricName", "try_parse", "Select", "ANY", "OPTIONAL", "Near", "format_temperature", "parse_temperature",
           "printed_temperature", "format_size", "metric", "companion", "with_companions", "estimate_metrics",
           "companions_of", "hidden_companions", "is_scaling_dimension", "stage_of", "SECONDS", "PEAK_RSS_GB",
           "cost_metric", "parse_cost"]
