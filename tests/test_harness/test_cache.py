"""Content-addressed data cache: hits, keys, and detection of partial or corrupt entries."""

import numpy as np

from rgexp.cache import DataCache, data_key
from rgexp.ising.data import IsingData


def _data(value: int = 1) -> IsingData:
    spins = np.full((2, 3, 4, 4), value, dtype=np.int8)
    return IsingData(spins, np.array([1.0, 2.0]), [{"tau_int_absm": 1.5}, {"tau_int_absm": np.float64(2.5)}])


def test_key_depends_on_config_and_seed_stream():
    base = data_key({"L": 4}, 7, (0,))
    assert base == data_key({"L": 4}, 7, (0,))
    assert base != data_key({"L": 8}, 7, (0,))
    assert base != data_key({"L": 4}, 8, (0,))
    assert base != data_key({"L": 4}, 7, (1,))


def test_hit_after_miss_returns_identical_data(tmp_path):
    cache = DataCache(tmp_path)
    calls = []
    make = lambda: calls.append(1) or _data()  # noqa: E731
    first, hit1 = cache.get_or_create("k", make)
    second, hit2 = cache.get_or_create("k", make)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(first.spins, second.spins)
    assert second.info[1]["tau_int_absm"] == 2.5


def test_corrupt_entry_is_detected_and_regenerated(tmp_path):
    cache = DataCache(tmp_path)
    cache.get_or_create("k", _data)
    npz = tmp_path / "k" / "data.npz"
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte: the checksum must catch it
    npz.write_bytes(bytes(raw))
    assert cache.load("k") is None and not (tmp_path / "k").exists()
    data, hit = cache.get_or_create("k", lambda: _data(-1))
    assert not hit and data.spins[0, 0, 0, 0] == -1


def test_partial_entry_without_manifest_is_not_used(tmp_path):
    cache = DataCache(tmp_path)
    (tmp_path / "k").mkdir(parents=True)
    np.savez(tmp_path / "k" / "data.npz", spins=np.zeros(1, np.int8), temperatures=np.zeros(1))
    data, hit = cache.get_or_create("k", _data)
    assert not hit and data.spins.shape == (2, 3, 4, 4)


def test_disabled_cache_always_generates(tmp_path):
    cache = DataCache(tmp_path, enabled=False)
    assert cache.get_or_create("k", _data)[1] is False
    assert not (tmp_path / "k").exists()
