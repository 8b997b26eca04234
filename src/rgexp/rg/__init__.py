"""Real-space renormalization group: block-spin transformations and the exact 1D decimation."""

from rgexp.rg.block import BlockSpinRG, block_spin
from rgexp.rg.chain1d import FIXED_POINTS_H0, coupling_flow, decimation_step

__all__ = ["block_spin", "BlockSpinRG", "decimation_step", "coupling_flow", "FIXED_POINTS_H0"]
