"""Model tests run single-threaded: their tensors are tiny (threads cannot help), and on a shared
2-core machine a busy neighbour turns every OpenMP barrier into a scheduler wait (measured: the
same 2,000-update test took 0.5 s or 20 s). The thread count is restored after each test."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
