"""Measurements on configurations: magnetization, nearest-neighbour correlations (more in issue 5)."""

from rgexp.analysis.observables import Measurements, abs_magnetization, nn_correlation

__all__ = ["Measurements", "abs_magnetization", "nn_correlation"]
