"""Real-space renormalization group: block-spin transformations of lattice configurations."""

from rgexp.rg.block import BlockSpinRG, block_spin

__all__ = ["block_spin", "BlockSpinRG"]
