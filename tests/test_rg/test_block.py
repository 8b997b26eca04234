"""Block-spin rules on hand-made configurations."""

import numpy as np
import pytest

from rgexp.rg import BlockSpinRG, block_spin


def test_block_average_hand_made():
    s = np.array([[1, 1, -1, 1],
                  [1, 1, -1, -1],
                  [1, -1, -1, -1],
                  [-1, 1, -1, -1]], dtype=np.int8)
    out = block_spin(s, 2, "average")
    np.testing.assert_array_equal(out, [[1.0, -0.5], [0.0, -1.0]])
    assert out.dtype == np.float32


def test_block_average_values_lie_on_the_five_point_set():
    s = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(50, 8, 8))
    vals = np.unique(block_spin(s, 2, "average"))
    assert set(vals.tolist()) <= {-1.0, -0.5, 0.0, 0.5, 1.0}


def test_majority_breaks_ties_both_ways_and_keeps_clear_blocks():
    tie = np.array([[1, -1], [-1, 1]], dtype=np.int8)
    rng = np.random.default_rng(0)
    draws = block_spin(np.repeat(tie[None], 4000, axis=0), 2, "majority", rng)[:, 0, 0]
    assert set(np.unique(draws)) == {-1, 1}
    # A fair coin: 4000 draws, sd of the mean of ±1 is 1/sqrt(4000) ≈ 0.016.
    assert abs(draws.mean()) < 5 / np.sqrt(4000)
    clear = np.array([[1, 1], [-1, 1]], dtype=np.int8)
    assert block_spin(clear, 2, "majority", rng)[0, 0] == 1


def test_decimation_keeps_top_left_spins():
    s = np.arange(16).reshape(4, 4)
    np.testing.assert_array_equal(block_spin(s, 2, "decimation"), [[0, 2], [8, 10]])


def test_n_steps_shapes_and_refusals():
    rg = BlockSpinRG(b=2, rule="average", n_steps=3)
    s = np.ones((5, 64, 64), dtype=np.int8)
    shapes = [x.shape for x in rg(s, np.random.default_rng(0))]
    assert shapes == [(5, 64, 64), (5, 32, 32), (5, 16, 16), (5, 8, 8)]
    with pytest.raises(ValueError, match="L = 12 is not divisible by b\\^n_steps"):
        rg(np.ones((1, 12, 12), dtype=np.int8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="not divisible by the block size"):
        block_spin(np.ones((6, 6)), 4)
    with pytest.raises(ValueError, match="rule must be one of"):
        BlockSpinRG(rule="median")


@pytest.mark.parametrize("b,ndim,dtype", [(2, 2, np.int8), (3, 2, np.int8), (4, 1, np.int8), (2, 2, np.float32)])
def test_block_sums_are_the_definition(b, ndim, dtype):
    """The strided sub-lattice sums equal Σ over each block written as a reshape-and-sum, exactly."""
    from rgexp.rg.block import _block_sums

    rng = np.random.default_rng(b + ndim)
    L = 6 * b
    shape = (5, L, L) if ndim == 2 else (5, L)
    s = np.where(rng.random(shape) < 0.5, 1, -1).astype(dtype) * (0.5 if dtype == np.float32 else 1)
    if ndim == 2:
        expected = s.reshape(5, L // b, b, L // b, b).sum(axis=(-3, -1), dtype=np.float64)
    else:
        expected = s.reshape(5, L // b, b).sum(axis=-1, dtype=np.float64)
    np.testing.assert_array_equal(_block_sums(s, b, ndim), expected)
