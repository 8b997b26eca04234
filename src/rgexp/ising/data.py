"""The container every sampler returns: configurations on a temperature grid plus MC diagnostics.

The spins are held bit-packed (one bit a site, 1/8 of int8): a paper-scale grid of 7 × 40,000
64×64 configurations is 143 MB instead of 1.15 GB. Stages unpack one temperature at a time
(:meth:`IsingData.at`), so at most one temperature's int8 block lives beside the packed set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack_spins(spins: np.ndarray) -> np.ndarray:
    """int8 ±1 spins (..., n_sites) -> uint8 bits (..., ceil(n_sites / 8)), bit 1 for +1."""
    return np.packbits(spins > 0, axis=-1)


def _n_bytes(n_sites: int) -> int:
    """Bytes per configuration of n_sites spins packed by :func:`pack_spins`."""
    return -(-n_sites // 8)


def unpack_spins(bits: np.ndarray, n_sites: int) -> np.ndarray:
    """uint8 bits (..., n_bytes) -> int8 ±1 spins (..., n_sites): the inverse of :func:`pack_spins`."""
    s = np.unpackbits(bits, axis=-1, count=n_sites)  # 0/1, a fresh array: mapped in place to ∓1
    np.multiply(s, 2, out=s)
    np.subtract(s, 1, out=s)  # 0 -> 255, the int8 view's -1
    return s.view(np.int8)


class IsingData:
    """Equilibrated configurations at several temperatures.

    spins (constructor): int8 ±1, shape (n_T, n_samples, *lattice) — lattice is (L, L) in 2D, (N,)
                  in 1D; kept packed (``bits``: uint8 (n_T, n_samples, ceil(n_sites / 8))).
    temperatures: float64, shape (n_T,).
    info:         one dict per temperature of plain floats/ints: MC diagnostics such as
                  ``tau_int_absm``, ``tau_int_energy`` (in stored-sample units after thinning, and
                  in sweeps before), ``n_eff``, ``thin``, ``n_thermalize``.
    """

    def __init__(self, spins: np.ndarray, temperatures, info: list[dict] | None = None) -> None:
        spins = np.asarray(spins)
        if spins.dtype != np.int8:
            raise TypeError(f"IsingData.spins must be int8, got {spins.dtype}")
        if spins.ndim < 3:
            raise ValueError(f"IsingData.spins must be (n_T, n_samples, *lattice), got shape {spins.shape}")
        bits = np.empty((*spins.shape[:2], _n_bytes(int(np.prod(spins.shape[2:])))), dtype=np.uint8)
        for i, block in enumerate(spins):  # one temperature at a time: no whole-set bool temporary
            bits[i] = pack_spins(block.reshape(block.shape[0], -1))
        self._init(bits, tuple(spins.shape[2:]), temperatures, info)

    @classmethod
    def from_packed(cls, bits: np.ndarray, lattice_shape: tuple[int, ...], temperatures,
                    info: list[dict] | None = None) -> "IsingData":
        """From :func:`pack_spins` output ``bits`` (n_T, n_samples, n_bytes) of lattices ``lattice_shape``."""
        data = cls.__new__(cls)
        data._init(np.asarray(bits, dtype=np.uint8), tuple(int(n) for n in lattice_shape), temperatures, info)
        return data

    def _init(self, bits: np.ndarray, lattice_shape: tuple[int, ...], temperatures, info) -> None:
        self.bits, self.lattice_shape = bits, lattice_shape
        self.temperatures = np.asarray(temperatures, dtype=np.float64)
        self.info = list(info) if info is not None else []
        if bits.ndim != 3 or bits.shape[2] != _n_bytes(self.n_visible):
            raise ValueError(f"IsingData: bits of shape {bits.shape} do not hold lattices {lattice_shape}")
        if bits.shape[0] != self.temperatures.shape[0]:
            raise ValueError(f"IsingData: {bits.shape[0]} spin blocks for {self.temperatures.shape[0]} temperatures")

    @property
    def n_visible(self) -> int:
        return int(np.prod(self.lattice_shape))

    @property
    def n_samples(self) -> int:
        return int(self.bits.shape[1])

    def at(self, i: int, n: int | None = None) -> np.ndarray:
        """int8 ±1 spins (n, *lattice) at temperature index i: its first n configurations (all if None)."""
        return self.rows([i], n).reshape(-1, *self.lattice_shape)

    def rows(self, indices: Sequence[int], n: int | None = None) -> np.ndarray:
        """int8 ±1 configurations (len(indices) * n, n_visible): the first n (all if None) at each
        temperature index in ``indices``, in that order."""
        bits = self.bits[list(indices), :n]
        return unpack_spins(bits.reshape(-1, bits.shape[-1]), self.n_visible)

    @property
    def blocks(self) -> "_Blocks":
        """The temperatures' spin blocks as a sequence: ``blocks[i]`` is ``at(i)``, unpacked on access."""
        return _Blocks(self)

    @property
    def spins(self) -> np.ndarray:
        """All spins, int8 (n_T, n_samples, *lattice): a fresh unpacked array — for small sets; stages
        use :meth:`at` or :attr:`blocks`, one temperature at a time."""
        return self.rows(range(len(self.temperatures))).reshape(*self.bits.shape[:2], *self.lattice_shape)

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """All configurations flattened, shape (n_T * n_samples, n_visible), and their temperatures."""
        return self.rows(range(len(self.temperatures))), np.repeat(self.temperatures, self.n_samples)


class _Blocks(Sequence):
    def __init__(self, data: IsingData) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data.temperatures)

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(f"temperature index {i} out of range for {len(self)} temperatures")
        return self._data.at(i % len(self))
