"""Checkpoints resume bit for bit, survive torch.save/torch.load(weights_only=True), and bad
hyperparameters are refused with one line naming the parameter before any work is done."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from rgexp.errors import Interrupted
from rgexp.models import RBM, RBMTrainer

CASES = {
    "spin-pcd-adam": dict(units="spin", persistent=True, optimizer="adam", lr=1e-2),
    "binary-cd-sgd-momentum-l1": dict(units="binary", optimizer="sgd", lr=0.05, momentum=0.5, l1=1e-3,
                                      weight_decay=1e-3),
    "spin-pcd2-sgd-cosine": dict(units="spin", persistent=True, optimizer="sgd", lr=0.05, k=2,
                                 lr_schedule="cosine"),
}
SPINS = np.where(np.random.default_rng(0).random((300, 12)) < 0.35, -1, 1).astype(np.int8)


def make_trainer(units="spin", **hp) -> RBMTrainer:
    m = RBM(12, 6, units=units, generator=torch.Generator().manual_seed(0))
    kw = dict(epochs=3, batch_size=32, holdout_fraction=0.1, lr=1e-2) | hp
    return RBMTrainer(m, m.from_spins(SPINS), generator=torch.Generator().manual_seed(1), **kw)


def roundtrip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def params(t: RBMTrainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in t.model.parameters()]


def history(t: RBMTrainer) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in t.history]


@pytest.mark.parametrize("case", CASES)
def test_resume_from_any_checkpoint_is_bitwise_identical(case):
    full = make_trainer(**CASES[case])
    states: list[dict] = []
    full.fit(on_checkpoint=lambda s: states.append(roundtrip(s)), checkpoint_every=4)
    assert full.n_batches == 8 and full.update == 24
    assert [s["update"] for s in states] == [4, 8, 12, 16, 20, 24, 24]  # every 4 updates, and the end
    for state in states[:-1]:  # mid-epoch (4, 12, 20) and at epoch ends (8, 16, 24)
        fresh = make_trainer(**CASES[case])
        fresh.load_state_dict(state)
        fresh.fit()
        assert all(torch.equal(a, b) for a, b in zip(params(fresh), params(full))), state["update"]
        assert history(fresh) == history(full)


def test_should_stop_checkpoints_then_raises_interrupted_and_resumes_exactly():
    reference = make_trainer(**CASES["spin-pcd-adam"])
    reference.fit()
    polls, saved = [], []
    trainer = make_trainer(**CASES["spin-pcd-adam"])
    with pytest.raises(Interrupted):
        trainer.fit(on_checkpoint=lambda s: saved.append(roundtrip(s)),
                    should_stop=lambda: polls.append(1) or len(polls) >= 11)
    assert len(polls) == 11 and len(saved) == 1 and saved[0]["update"] == 11
    fresh = make_trainer(**CASES["spin-pcd-adam"])
    fresh.load_state_dict(saved[0])
    fresh.fit()
    assert all(torch.equal(a, b) for a, b in zip(params(fresh), params(reference)))


def test_state_dict_holds_only_tensors_and_plain_values():
    trainer = make_trainer(**CASES["spin-pcd-adam"])
    trainer.fit()
    state = trainer.state_dict()

    def walk(x):
        if isinstance(x, dict):
            assert all(isinstance(k, (str, int)) for k in x)
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        else:
            assert x is None or type(x) in (torch.Tensor, int, float, str, bool), type(x)

    walk(state)
    loaded = roundtrip(state)
    assert loaded["update"] == 24 and torch.equal(loaded["generator"], state["generator"])


def test_resume_refuses_changed_structure():
    state = make_trainer().state_dict()
    with pytest.raises(ValueError, match="different hyperparameters.*batch_size"):
        make_trainer(batch_size=16).load_state_dict(state)


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("lr", -1, "lr must be > 0, got -1"),
        ("lr", 0.0, "lr must be > 0, got 0.0"),
        ("epochs", 0, "epochs must be an int >= 1, got 0"),
        ("epochs", 2.5, "epochs must be an int >= 1, got 2.5"),
        ("batch_size", 0, "batch_size must be an int >= 1, got 0"),
        ("k", 0, "k must be an int >= 1, got 0"),
        ("persistent", "yes", "persistent must be a bool, got 'yes'"),
        ("optimizer", "rmsprop", "optimizer must be one of 'sgd', 'adam', got 'rmsprop'"),
        ("momentum", 1.0, "momentum must be in [0, 1), got 1.0"),
        ("weight_decay", -0.1, "weight_decay must be >= 0, got -0.1"),
        ("l1", -1e-3, "l1 must be >= 0, got -0.001"),
        ("adam_eps", 0, "adam_eps must be > 0, got 0"),
        ("adam_beta2", 1.0, "adam_beta2 must be in [0, 1), got 1.0"),
        ("lr_schedule", "step", "lr_schedule must be one of 'constant', 'linear', 'cosine', 'exponential'"),
        ("lr_final_fraction", 0.0, "lr_final_fraction must be in (0, 1], got 0.0"),
        ("holdout_fraction", 1.0, "holdout_fraction must be in [0, 1), got 1.0"),
        ("metric_samples", 0, "metric_samples must be an int >= 1, got 0"),
        ("exact_max_units", 30, "exact_max_units must be an int in [0, 25], got 30"),
        ("batch_size", 400, "batch_size must be <= the number of training samples (270), got 400"),
        ("momentum", 0.5, "momentum must be 0 with optimizer='adam'"),
    ],
)
def test_bad_hyperparameters_raise_one_line_before_any_work(name, value, message):
    m = RBM(12, 6, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    before = gen.get_state().clone()
    kw = dict(epochs=3, batch_size=32, lr=1e-3) | {name: value}
    with pytest.raises(ValueError) as info:
        RBMTrainer(m, m.from_spins(SPINS), generator=gen, **kw)
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text
    assert torch.equal(gen.get_state(), before)  # refused before drawing anything


@pytest.mark.parametrize(
    "data,message",
    [
        (np.ones((10, 7)), r"data must have shape \(n_samples, 12\), got \(10, 7\)"),
        (SPINS, r"data must be in the model's unit convention.*from_spins"),  # ±1 into a binary RBM
    ],
)
def test_bad_data_is_refused(data, message):
    m = RBM(12, 6, units="binary")
    with pytest.raises(ValueError, match=message):
        RBMTrainer(m, data, generator=torch.Generator(), epochs=1, batch_size=5, lr=1e-3)


def test_trainer_accepts_numpy_and_uses_the_models_dtype():
    m = RBM(12, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = RBMTrainer(m, SPINS.astype(np.float32), generator=torch.Generator(), epochs=1, batch_size=30, lr=1e-3)
    assert t.data.dtype == torch.float64 and t.data.shape == (300, 12)
    assert t.train_index.shape == (270,) and t.holdout_index.shape == (30,)
    t.fit()
    assert m.weight.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trainer_on_cuda_matches_its_own_resume_and_accepts_a_cpu_generator():
    def make():
        m = RBM(12, 6, generator=torch.Generator().manual_seed(0), device="cuda")
        return RBMTrainer(m, m.from_spins(SPINS), generator=torch.Generator().manual_seed(1), epochs=2,
                          batch_size=32, lr=1e-2, persistent=True)

    full = make()
    assert full.generator.device.type == "cuda"  # derived from the CPU generator
    states = []
    final = full.fit(on_checkpoint=lambda s: states.append(roundtrip(s)), checkpoint_every=5)
    assert np.isfinite(final["log_likelihood"])
    fresh = make()
    fresh.load_state_dict(states[1])
    fresh.fit()
    for a, b in zip(fresh.model.parameters(), full.model.parameters()):
        torch.testing.assert_close(a, b)
