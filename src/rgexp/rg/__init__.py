"""Real-space renormalization group: block-spin transformations and the exact 1D decimation."""

from rgexp.rg.block import BlockSpinRG, block_spin
from rgexp.rg.chain1d import FIXED_POINTS_H0, coupling_flow, decimation_step
from rgexp.rg.variational import (
    DecimationFlow,
    chain_distribution,
    chain_hamiltonian,
    chain_rbm,
    decimation_operator,
    decimation_stack_flow,
    hidden_marginal,
    renormalized_coupling,
)

__all__ = [
    "block_spin", "BlockSpinRG", "decimation_step", "coupling_flow", "FIXED_POINTS_H0",
    "chain_rbm", "chain_distribution", "hidden_marginal", "renormalized_coupling", "chain_hamiltonian",
    "decimation_stack_flow", "DecimationFlow", "decimation_operator",
]
