"""Compact (int8) training data: the same training, bit for bit, at a quarter of float32's memory.

The trainers keep integer data as int8 and convert one batch at a time (CDKernel.load_batch,
RBM.mean_hiddens in chunks); the float path is the reference. Equality is exact because the
conversion of ±1/{0,1} to float is exact and the row-chunked products of mean_hiddens are the
same products row by row.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rgexp.models import RBM, StackedRBM, StackedRBMTrainer
from rgexp.models.rbm import ROW_CHUNK
from rgexp.models.trainer import RBMTrainer

HP = dict(epochs=2, batch_size=50, lr=0.05, metrics_every=1, metric_samples=100)


def _spins(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random((n, d)) < 0.6, 1, -1).astype(np.int8)


def _trained(model, data, trainer_cls=RBMTrainer, **extra):
    trainer = trainer_cls(model, data, generator=torch.Generator().manual_seed(3), **HP, **extra)
    final = trainer.fit()
    return trainer, final


@pytest.mark.parametrize("units", ["spin", "binary"])
@pytest.mark.parametrize("persistent", [False, True])
def test_an_rbm_trained_on_compact_data_is_bit_identical(units, persistent):
    spins = _spins(600, 12)
    models = [RBM(12, 6, units=units, generator=torch.Generator().manual_seed(1)) for _ in range(2)]
    t_float, m_float = _trained(models[0], models[0].from_spins(spins), persistent=persistent)
    t_int8, m_int8 = _trained(models[1], models[1].from_spins(spins, compact=True), persistent=persistent)
    assert t_int8.data.dtype == torch.int8 and t_float.data.dtype == torch.float32
    for key, value in models[0].state_dict().items():
        assert torch.equal(value, models[1].state_dict()[key]), key
    m_float.pop("epoch_seconds"), m_int8.pop("epoch_seconds")  # a clock
    assert m_float == pytest.approx(m_int8, rel=0, abs=0, nan_ok=True)  # exact metrics, entropy included


@pytest.mark.parametrize("propagate", ["mean", "sample"])
def test_a_stack_trained_on_compact_data_is_bit_identical(propagate):
    spins = _spins(ROW_CHUNK + 300, 16, seed=2)  # more rows than one conversion chunk
    stacks = [StackedRBM([16, 8, 4], units="binary", generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    _trained(stacks[0], stacks[0].from_spins(spins), StackedRBMTrainer, propagate=propagate)
    trainer, _ = _trained(stacks[1], stacks[1].from_spins(spins, compact=True), StackedRBMTrainer,
                          propagate=propagate)
    assert trainer.data.dtype == torch.int8
    for key, value in stacks[0].state_dict().items():
        assert torch.equal(value, stacks[1].state_dict()[key]), key


def test_mean_hiddens_of_compact_rows_equals_the_float_product():
    rbm = RBM(20, 7, units="spin", generator=torch.Generator().manual_seed(0))
    spins = _spins(2 * ROW_CHUNK + 17, 20, seed=4)
    assert torch.equal(rbm.mean_hiddens(rbm.from_spins(spins, compact=True)), rbm.mean_hiddens(rbm.from_spins(spins)))


def test_compact_data_outside_the_unit_convention_is_refused():
    rbm = RBM(4, 2, units="binary", generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="unit convention"):
        RBMTrainer(rbm, torch.full((100, 4), -1, dtype=torch.int8), generator=torch.Generator(), **HP)
