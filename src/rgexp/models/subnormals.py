"""Flush subnormal floats to zero, so that training on saturating units does not slow down by itself.

Adam's second moments of parameters that stop moving decay as β₂^t, and the hidden means of
saturated {0,1} units are ~e^(−x): both reach subnormal float32 values (< 1.2e-38) after a few
hundred updates, and every GEMM that reads them runs 10–70× slower on x86 (measured: 4096→1024 CD-1
with Adam, 32 ms per update at first, 478 ms after 80 updates; with flushing, 27 ms).

``torch.set_flush_denormal(True)`` sets flush-to-zero for the calling thread; threads created
afterwards inherit it, threads that already exist do not (measured: set after a first parallel GEMM,
the slowdown stays). So it is set when this package is imported, before rgexp does any parallel
work: ``python -m rgexp`` and code that imports ``rgexp.models`` first get it in every intra-op
thread. A process that ran parallel torch work before importing rgexp should call
:func:`flush_subnormals` before that work. Changing nothing but values below 1.2e-38 (to 0), it
changes no result that matters and keeps runs bit-reproducible.
"""

from __future__ import annotations

import torch

__all__ = ["flush_subnormals"]


def flush_subnormals() -> bool:
    """Flush subnormals to zero in this thread and the threads it creates; False where the CPU
    cannot (then nothing changes)."""
    return bool(torch.set_flush_denormal(True))


flush_subnormals()
