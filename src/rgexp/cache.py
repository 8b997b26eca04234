"""Content-addressed cache of Monte Carlo data.

An entry's key is the SHA-256 of the canonical JSON of everything that determines the data: the
resolved sampler config, the Monte Carlo seed stream and a format version. An entry is a directory
``<dir>/<key>/`` holding ``data.npz`` and ``manifest.json`` (with the SHA-256 of ``data.npz``),
written into a temporary directory and renamed into place, so it is complete or absent. An entry
whose checksum does not match is deleted and regenerated, never used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rgexp.ising.data import IsingData

__all__ = ["data_key", "DataCache"]

FORMAT_VERSION = 2  # 2: per-temperature Monte Carlo streams keyed by T, not by grid position


def data_key(sampler_config: dict[str, Any], seed_entropy: int, spawn_key: tuple[int, ...]) -> str:
    """Hex SHA-256 of the canonical description of a data set."""
    spec = {
        "format": FORMAT_VERSION,
        "sampler": sampler_config,
        "seed": {"entropy": int(seed_entropy), "spawn_key": [int(k) for k in spawn_key]},
    }
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _plain(obj: Any) -> Any:
    """JSON fallback for NumPy scalars and arrays in sampler diagnostics."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a cache manifest")


class DataCache:
    """A directory of content-addressed :class:`IsingData` entries."""

    def __init__(self, directory: str | os.PathLike, enabled: bool = True) -> None:
        self.dir = Path(directory).expanduser().resolve()
        self.enabled = enabled

    @contextlib.contextmanager
    def _lock(self, key: str):
        """One writer per key: parallel jobs of a sweep wait for, then reuse, one generation."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / f".{key}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self, key: str) -> IsingData | None:
        """The entry, or None if absent; a corrupt entry is removed and None returned."""
        entry = self.dir / key
        try:
            manifest = json.loads((entry / "manifest.json").read_text())
            if _sha256(entry / "data.npz") != manifest["sha256"]:
                raise ValueError("checksum mismatch")
            with np.load(entry / "data.npz") as npz:
                if "bits" not in npz:  # an entry written before the spins were stored packed
                    return IsingData(npz["spins"], npz["temperatures"], manifest["info"])
                return IsingData.from_packed(npz["bits"], tuple(npz["lattice_shape"]), npz["temperatures"],
                                             manifest["info"])
        except FileNotFoundError:
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)
            return None
        except (ValueError, KeyError, OSError, json.JSONDecodeError):
            shutil.rmtree(entry, ignore_errors=True)
            return None

    def store(self, key: str, data: IsingData) -> None:
        """Write an entry atomically (temporary directory, then rename)."""
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.dir))
        try:
            np.savez(tmp / "data.npz", bits=data.bits, lattice_shape=np.array(data.lattice_shape),
                     temperatures=data.temperatures)
            manifest = {"sha256": _sha256(tmp / "data.npz"), "info": data.info, "format": FORMAT_VERSION}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_plain))
            shutil.rmtree(self.dir / key, ignore_errors=True)
            os.replace(tmp, self.dir / key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def get_or_create(self, key: str, create: Callable[[], IsingData]) -> tuple[IsingData, bool]:
        """``(data, hit)``: the cached entry, or ``create()``'s result after storing it."""
        if not self.enabled:
            return create(), False
        with self._lock(key):
            data = self.load(key)
            if data is not None:
                return data, True
            data = create()
            self.store(key, data)
            return data, False
