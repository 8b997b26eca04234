"""Measurements on configurations and models.

- observables: ⟨|m|⟩ and nearest-neighbour correlations of any (real-valued) configurations;
- thermometer: the neural thermometer (training, readings of flowed / blocked configurations);
- receptive: visible–hidden correlators C_ia, the correlator of correlators G(d), null patterns;
- figures: the pipeline's curve plots.
"""

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
from rgexp.analysis.receptive_stage import ReceptiveFields
from rgexp.analysis.thermometer import (
    TemperatureReading,
    Thermometer,
    ThermometerResult,
    measure_temperatures,
)
from rgexp.analysis.thermometer_training import NeuralThermometer, train_thermometer

__all__ = [
    "Measurements", "abs_magnetization", "nn_correlation",
    "Correlator", "GCurve", "visible_hidden_correlator", "rbm_correlator", "rg_correlator",
    "stacked_correlator", "correlator_maps", "correlator_of_correlators",
    "correlator_of_correlators_jackknife", "white_noise_pattern", "checkerboard_pattern",
    "ReceptiveFields",
    "Thermometer", "ThermometerResult", "TemperatureReading", "measure_temperatures",
    "train_thermometer", "NeuralThermometer",
]
