"""rgexp.models: restricted Boltzmann machines, their stacks and their training.

- :class:`RBM` — ±1 ("spin") or {0,1} ("binary") units; ``weight`` (n_visible, n_hidden),
  ``visible_bias``, ``hidden_bias``; free energies, conditionals, Gibbs sampling with an explicit
  ``torch.Generator``, exact log Z / log-likelihood on small layers.
- :class:`StackedRBM` — ``layers=[n_0, n_1, …]``, propagation up and down the stack.
- :class:`TrainConfig` — the training hyperparameters (type, default and range of each), shared by
  both trainers and ``conf/model/train/rbm.yaml``.
- :class:`RBMTrainer` / :func:`train_rbm` — CD-k / PCD-k with SGD(+momentum) or Adam, per-epoch
  metrics through an injected ``log(step, metrics)``, checkpoints that resume bit for bit.
- :class:`StackedRBMTrainer` — greedy layer-wise training with per-layer overrides.
- :func:`plot_filters` — a matplotlib Figure of the weights.
"""

from .subnormals import flush_subnormals  # first: before any parallel torch work (see its docstring)
from .cd import CDKernel
from .hyperparameters import TrainConfig
from .rbm import RBM, enumerate_states, is_stack
from .stacked import StackedRBM
from .stacked_trainer import StackedRBMTrainer
from .trainer import RBMTrainer, train_rbm

__all__ = [
    "RBM",
    "is_stack",
    "StackedRBM",
    "RBMTrainer",
    "TrainConfig",
    "StackedRBMTrainer",
    "train_rbm",
    "plot_filters",
    "CDKernel",
    "enumerate_states",
    "flush_subnormals",
]


def __getattr__(name: str):
    """``plot_filters`` on first use: matplotlib stays out of a run that draws no figure."""
    if name == "plot_filters":
        from .plotting import plot_filters

        return plot_filters
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
