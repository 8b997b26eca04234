"""Measurements on configurations and models.

- observables: ⟨|m|⟩ and nearest-neighbour correlations of any (real-valued) configurations;
- correlators, scaling: two-point functions ⟨σσ⟩, ⟨εε⟩ by FFT and Δ fits with 90% intervals;
- thermometer: the neural thermometer (training, readings of flowed / blocked configurations);
- receptive: visible–hidden correlators C_ia, the correlator of correlators G(d), null patterns;
- figures: the pipeline's curve plots.
"""

from rgexp.analysis.correlators import correlation_by_displacement, correlation_function, correlation_map
from rgexp.analysis.observables import Measurements, abs_magnetization, nn_correlation
from rgexp.analysis.receptive import (
    Correlator,
    GCurve,
    checkerboard_pattern,
    correlator_maps,
    correlator_of_correlators,
    correlator_of_correlators_jackknife,
    rbm_correlator,
    rg_correlator,
    stacked_correlator,
    visible_hidden_correlator,
    white_noise_pattern,
)
from rgexp.analysis.chain_coupling import (
    LayerCoupling,
    chain_gauge,
    chain_order,
    effective_coupling,
    layer_effective_couplings,
)
from rgexp.analysis.binned import BinnedFlow
from rgexp.analysis.fixed_point import FixedPoint
from rgexp.analysis.components import Criticality, ReceptiveFields, ScalingDimensions
from rgexp.analysis.receptive_size import ReceptiveSize, receptive_field_size, uniform_r2
from rgexp.analysis.magnetization_exponent import fit_magnetization_exponent, magnetization_exponent_per_flow
from rgexp.analysis.scaling import ScalingFit, fit_scaling_dimension, fit_scaling_dimension_from_curve
from rgexp.analysis.thermometer import (
    TemperatureReading,
    Thermometer,
    ThermometerResult,
    measure_temperatures,
)
from rgexp.analysis.thermometer_training import NeuralThermometer, train_thermometer

__all__ = [
    "Measurements", "abs_magnetization", "nn_correlation",
    "correlation_function", "correlation_map", "correlation_by_displacement",
    "ScalingFit", "fit_scaling_dimension", "fit_scaling_dimension_from_curve",
    "fit_magnetization_exponent", "magnetization_exponent_per_flow",
    "Correlator", "GCurve", "visible_hidden_correlator", "rbm_correlator", "rg_correlator",
    "stacked_correlator", "correlator_maps", "correlator_of_correlators",
    "correlator_of_correlators_jackknife", "white_noise_pattern", "checkerboard_pattern",
    "ReceptiveFields", "ScalingDimensions", "Criticality", "BinnedFlow", "FixedPoint",
    "effective_coupling", "chain_order", "chain_gauge", "layer_effective_couplings", "LayerCoupling",
    "receptive_field_size", "ReceptiveSize", "uniform_r2",
    "Thermometer", "ThermometerResult", "TemperatureReading", "measure_temperatures",
    "train_thermometer", "NeuralThermometer",
]
