"""StackedRBM, greedy layer-wise training, the filter figure, the conf/model/*.yaml files and the
one home of the training hyperparameters (TrainConfig)."""

from __future__ import annotations

import dataclasses
import inspect
import io
import typing

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from rgexp.errors import Interrupted
from rgexp.models import RBM, RBMTrainer, StackedRBM, StackedRBMTrainer, TrainConfig, plot_filters
from tests.conftest import compose_config
SPINS = np.where(np.random.default_rng(1).random((240, 16)) < 0.4, -1, 1).astype(np.int8)


def roundtrip(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_layers_must_match_the_lattice():
    with pytest.raises(ValueError) as info:
        StackedRBM([1024, 256, 64], n_visible=100)
    assert str(info.value) == "layers[0] must equal the number of visible units (L² = 100), got 1024"
    with pytest.raises(ValueError, match="at least two"):
        StackedRBM([100])


@pytest.mark.parametrize("units", ["spin", "binary"])
def test_propagation_up_and_down(units):
    s = StackedRBM([16, 8, 4], units=units, generator=torch.Generator().manual_seed(0), n_visible=16)
    v = s.from_spins(SPINS[:5])
    ups = s.propagate_up(v)
    assert [u.shape[1] for u in ups] == [16, 8, 4]
    torch.testing.assert_close(ups[1], s.rbms[0].mean_hiddens(v))
    torch.testing.assert_close(ups[2], s.rbms[1].mean_hiddens(ups[1]))
    g = torch.Generator().manual_seed(1)
    samples = s.propagate_up(v, sample=True, generator=g, depth=1)
    assert len(samples) == 2 and set(samples[1].unique().tolist()) <= {s.rbms[0].low, 1.0}
    downs = s.propagate_down(ups[-1])
    assert [d.shape[1] for d in downs] == [4, 8, 16]
    assert s.propagate_down(ups[1], start=1, sample=True, generator=g)[-1].shape == (5, 16)
    with pytest.raises(ValueError, match="generator"):
        s.propagate_up(v, sample=True)


def make_stack_trainer(**kw):
    s = StackedRBM([16, 8, 4], generator=torch.Generator().manual_seed(0), n_visible=16)
    hp = dict(epochs=2, batch_size=20, lr=1e-2, persistent=True) | kw
    return StackedRBMTrainer(s, s.from_spins(SPINS), generator=torch.Generator().manual_seed(2), **hp)


@pytest.mark.parametrize("propagate", ["mean", "sample"])
def test_greedy_training_feeds_each_layer_the_one_below(propagate):
    logs = []
    t = make_stack_trainer(propagate=propagate, layer_overrides={1: {"lr": 0.05, "epochs": 3}})
    final = t.fit(log=lambda step, m, path: logs.append((step, path[0])))
    assert [s for s, _ in logs] == [1, 2, 3, 4, 5] and [l for _, l in logs] == ["layer0"] * 2 + ["layer1"] * 3
    assert "layer0/recon_error" in final
    assert ("layer1/kl_exact" in final) == (propagate == "sample")  # KL needs discrete data
    assert t.layer_configs[1].lr == 0.05 and t.layer_configs[0].lr == 1e-2
    x1 = t.layer_data(1)
    if propagate == "mean":
        torch.testing.assert_close(x1, t.model.rbms[0].mean_hiddens(t.data))
    else:
        assert set(x1.unique().tolist()) == {-1.0, 1.0}
        assert torch.equal(x1, t.layer_data(1))  # same seed, same samples


def test_stacked_resume_is_bitwise_identical_across_layers():
    full = make_stack_trainer(propagate="sample")
    states = []
    full.fit(on_checkpoint=lambda s: states.append(roundtrip(s)), checkpoint_every=7)
    layers = [s["layer"] for s in states]
    assert 0 in layers and 1 in layers
    reference = [p.detach().clone() for p in full.model.parameters()]
    for state in states[::2]:
        fresh = make_stack_trainer(propagate="sample")
        fresh.load_state_dict(state)
        fresh.fit()
        assert all(torch.equal(a, b) for a, b in zip(fresh.model.parameters(), reference))
    stopper = make_stack_trainer(propagate="sample")
    saved = []
    polls = []
    with pytest.raises(Interrupted):
        stopper.fit(on_checkpoint=saved.append, should_stop=lambda: polls.append(1) or len(polls) == 30)
    resumed = make_stack_trainer(propagate="sample")
    resumed.load_state_dict(roundtrip(saved[-1]))
    assert resumed.layer == 1
    resumed.fit()
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.parameters(), reference))


def test_mehta_schwab_style_per_layer_sgd_settings():
    t = make_stack_trainer(optimizer="sgd", lr=0.1, momentum=0.5, l1=8e-3,
                           layer_overrides=[{}, {"lr": 0.2, "momentum": 0.9, "l1": 8e-4}])
    assert [(c.lr, c.momentum, c.l1) for c in t.layer_configs] == [(0.1, 0.5, 8e-3), (0.2, 0.9, 8e-4)]
    t.fit()
    with pytest.raises(ValueError, match="momentum must be 0 with optimizer='adam'"):
        make_stack_trainer(optimizer="adam", layer_overrides=[{}, {"momentum": 0.9}])


def test_bad_layer_overrides_name_the_layer():
    with pytest.raises(ValueError) as info:
        make_stack_trainer(layer_overrides=[{}, {"lr": -1}])
    assert str(info.value) == "layer_overrides[1].lr must be > 0, got -1"
    with pytest.raises(ValueError, match="layer_overrides has layer 5"):
        make_stack_trainer(layer_overrides={5: {"lr": 1.0}})
    with pytest.raises(ValueError, match="layer_overrides\\[0\\].colour is not an RBM training hyperparameter"):
        make_stack_trainer(layer_overrides=[{"colour": 1}])


def test_plot_filters_returns_a_figure_without_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plot_filters(RBM(16, 5), (4, 4))
    assert fig.__class__.__name__ == "Figure" and len(fig.axes) >= 5
    assert plot_filters(RBM(10, 3)).axes  # not a square: one heat map
    assert plot_filters(StackedRBM([16, 8, 4])).axes  # the bottom layer of a stack
    assert plt.get_fignums() == before
    with pytest.raises(ValueError, match="does not hold"):
        plot_filters(RBM(16, 5), (3, 3))


@pytest.mark.parametrize("name", ["rbm", "stacked_rbm"])
def test_model_configs_instantiate_and_train(name):
    cfg = compose_config([f"model={name}"])
    if name == "stacked_rbm":
        cfg.model.layers = [16, 8, 4]
    cfg.model.train.epochs = 1
    net = instantiate(cfg.model.net, _convert_="all", n_visible=16, generator=torch.Generator().manual_seed(0))
    factory = instantiate(cfg.model.train, _convert_="all")
    trainer = factory(model=net, data=net.from_spins(SPINS), generator=torch.Generator().manual_seed(1))
    final = trainer.fit()
    assert final and all(np.isfinite(v) for v in final.values())
    # every key the config sets is an annotated parameter of its target (the lead's validator reads them)
    for node in (cfg.model.net, cfg.model.train):
        target = node._target_.rsplit(".", 1)[1]
        cls = {"RBM": RBM, "StackedRBM": StackedRBM, "RBMTrainer": RBMTrainer,
               "StackedRBMTrainer": StackedRBMTrainer}[target]
        hints = typing.get_type_hints(cls.__init__)
        params = inspect.signature(cls.__init__).parameters
        for key in node:
            if not key.startswith("_"):
                assert key in params and key in hints, (name, key)


def test_stacked_config_layers_override_is_checked():
    cfg = compose_config(["model=stacked_rbm"])
    cfg.model.layers = [1024, 256, 64]
    with pytest.raises(ValueError, match=r"layers\[0\] must equal the number of visible units \(L² = 100\), got 1024"):
        try:
            instantiate(cfg.model.net, _convert_="all", n_visible=100, generator=torch.Generator())
        except Exception as err:  # Hydra wraps the target's exception
            raise err.__cause__ or err


def test_both_model_configs_train_with_the_same_hyperparameters():
    """stacked_rbm's model.train extends rbm's: the same TrainConfig keys and values, plus its own."""
    rbm, stack = (OmegaConf.to_container(compose_config([f"model={m}"]).model.train) for m in ("rbm", "stacked_rbm"))
    own = {"_target_", "propagate", "layer_overrides"}
    assert {k: v for k, v in stack.items() if k not in own} == {k: v for k, v in rbm.items() if k != "_target_"}
    assert set(rbm) - {"_target_", "_partial_"} == {f.name for f in dataclasses.fields(TrainConfig)}


def test_train_config_is_frozen_plain_and_checked_field_by_field():
    c = TrainConfig(epochs=np.int64(2), batch_size=10, lr=np.float32(0.5), persistent=True)
    assert type(c.epochs) is int and type(c.lr) is float and c.as_dict()["persistent"] is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 1.0  # type: ignore[misc]
    assert dataclasses.replace(c, k=3).k == 3
    for bad, message in [({"epochs": True}, "epochs must be an int >= 1, got True"),
                         ({"lr_schedule": "step"}, "lr_schedule must be one of 'constant', 'linear'"),
                         ({"exact_max_units": 26}, "exact_max_units must be an int in [0, 25], got 26"),
                         ({"optimizer": "adam", "momentum": 0.5}, "momentum must be 0 with optimizer='adam'")]:
        with pytest.raises(ValueError) as info:
            TrainConfig(**({"epochs": 1, "batch_size": 1, "lr": 1.0} | bad))
        assert str(info.value).startswith(message)
    # the trainers' signatures are TrainConfig's fields (what the config check and help() read)
    empty = inspect.Parameter.empty
    defaults = {f.name: empty if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(TrainConfig)}
    for cls in (RBMTrainer, StackedRBMTrainer):
        params = inspect.signature(cls).parameters
        assert {k: params[k].default for k in defaults} == defaults
