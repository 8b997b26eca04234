"""IsingData holds spins bit-packed: every accessor returns exactly the int8 spins it was given."""

import json

import numpy as np
import pytest

from rgexp.cache import FORMAT_VERSION, DataCache, _sha256
from rgexp.ising.data import IsingData, pack_spins, unpack_spins


def _spins(shape, seed=0) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, 1, -1).astype(np.int8)


@pytest.mark.parametrize("lattice", [(8, 8), (5, 3), (13,), (64,), (1,)])
def test_every_accessor_gives_back_the_spins(lattice):
    spins = _spins((3, 7, *lattice))
    data = IsingData(spins, [1.0, 2.0, 3.0])
    n_sites = int(np.prod(lattice))
    assert data.bits.dtype == np.uint8 and data.bits.shape == (3, 7, -(-n_sites // 8))
    assert data.lattice_shape == lattice and data.n_visible == n_sites and data.n_samples == 7
    np.testing.assert_array_equal(data.spins, spins)
    assert data.spins.dtype == np.int8
    for i in range(3):
        np.testing.assert_array_equal(data.at(i), spins[i])
        np.testing.assert_array_equal(data.at(i, 4), spins[i, :4])
        np.testing.assert_array_equal(data.blocks[i], spins[i])
    np.testing.assert_array_equal(data.blocks[-1], spins[-1])
    assert len(data.blocks) == 3 and len(list(data.blocks)) == 3
    np.testing.assert_array_equal(data.rows([2, 0], 5), np.concatenate([spins[2, :5], spins[0, :5]]).reshape(10, -1))
    x, t = data.flat()
    np.testing.assert_array_equal(x, spins.reshape(21, -1))
    np.testing.assert_array_equal(t, np.repeat([1.0, 2.0, 3.0], 7))


def test_a_pipeline_sized_block_is_an_eighth_of_int8():
    spins = _spins((2, 100, 64, 64), seed=1)
    data = IsingData(spins, [2.0, 2.5])
    assert data.bits.nbytes * 8 == spins.nbytes
    np.testing.assert_array_equal(data.at(1), spins[1])


def test_unpack_is_the_inverse_of_pack_and_bits_mean_plus_one():
    assert pack_spins(np.array([1, -1, -1, -1, -1, -1, -1, 1, 1], dtype=np.int8)).tolist() == [0b10000001, 0b10000000]
    s = _spins((4, 1000), seed=2)
    np.testing.assert_array_equal(unpack_spins(pack_spins(s), 1000), s)


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="int8"):
        IsingData(np.ones((1, 2, 4), dtype=np.float32), [1.0])
    with pytest.raises(ValueError, match="temperatures"):
        IsingData(np.ones((2, 2, 4), dtype=np.int8), [1.0])
    with pytest.raises(ValueError, match="do not hold"):
        IsingData.from_packed(np.zeros((1, 2, 3), dtype=np.uint8), (4, 4), [1.0])
    with pytest.raises(IndexError):
        IsingData(np.ones((1, 2, 4), dtype=np.int8), [1.0]).blocks[1]


def test_cache_stores_packed_bits_and_reads_entries_written_as_int8(tmp_path):
    spins = _spins((2, 5, 6, 6), seed=3)
    cache = DataCache(tmp_path)
    cache.store("new", IsingData(spins, [1.0, 2.0], [{}, {}]))
    with np.load(tmp_path / "new" / "data.npz") as npz:
        assert "bits" in npz and "spins" not in npz
    np.testing.assert_array_equal(cache.load("new").spins, spins)
    # an entry of the earlier layout (int8 spins in the npz) still loads
    old = tmp_path / "old"
    old.mkdir()
    np.savez(old / "data.npz", spins=spins, temperatures=np.array([1.0, 2.0]))
    (old / "manifest.json").write_text(json.dumps({"sha256": _sha256(old / "data.npz"), "info": [{}, {}],
                                                   "format": FORMAT_VERSION}))
    np.testing.assert_array_equal(cache.load("old").spins, spins)
