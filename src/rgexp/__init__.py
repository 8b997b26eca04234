"""rgexp: is deep learning a renormalization group flow?

A harness for Ising Monte Carlo, restricted Boltzmann machines, RBM flows and block-spin RG,
with every run tracked in MLflow. Entry point: ``python -m rgexp`` (see README).
"""

__version__ = "0.1.0"
