"""Every config group composes and instantiates; bad input gives one clear ConfigError line."""

import pytest

from rgexp.devices import resolve_device
from rgexp.errors import ConfigError
from rgexp.pipeline import validate
from tests.conftest import CONF, compose_config


def validate_everything(cfg):
    """All the checks ``run`` makes before it starts an MLflow run."""
    v = validate(cfg)
    return v.parts, v.model


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in ("sampler", "model", "flow", "rg", "analysis", "tracking") for o in group_options(g)],
)
def test_every_group_option_composes_and_instantiates(group, option, isolated):
    overrides = [f"{group}={option}", *isolated]
    if group == "model" and option == "stacked_rbm":
        overrides.append("model.layers=[100,16,4]")  # layers[0] = L² of the default 10×10 lattice
    cfg = compose_config(overrides)
    if group == "tracking" and option == "server":  # no server runs here: refused up front, one line
        from rgexp.config import instantiate_group

        assert instantiate_group(cfg.tracking, "tracking").uri == cfg.tracking.uri
        with pytest.raises(ConfigError, match=f"tracking.uri={cfg.tracking.uri}: the tracking server cannot be reached"):
            validate_everything(cfg)
        return
    parts, model = validate_everything(cfg)
    assert parts.sampler.lattice_shape and sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", group_options("experiment"))
def test_every_experiment_preset_validates(name, isolated):
    validate_everything(compose_config([f"experiment={name}", *isolated]))


@pytest.mark.parametrize(
    "override,message",
    [
        ("sampler.L=-4", "sampler.L must be"),
        ("sampler.L=abc", "sampler.L must be int, got 'abc'"),
        ("sampler.algorithm=glauber", "sampler.algorithm must be one of 'wolff', 'swendsen_wang', 'metropolis'"),
        ("+sampler.colour=red", "unknown key 'sampler.colour'; allowed:"),
        ("device=gpu", "device must be one of 'auto', 'cpu', 'cuda', got 'gpu'"),
        ("seed=-1", "seed and data_seed must be >= 0"),
        ("progress=maybe", "progress must be bool"),
        ("rg.n_steps=5", "not divisible by b^n_steps"),
        ("rg.rule=median", "rg.rule must be one of 'average', 'majority', 'decimation'"),
        ("flow.n_steps=-1", "flow.n_steps must be >= 0"),
        ("analysis.measurements.observables=[entropy]", "analysis.measurements.observables must be drawn from abs_magnetization"),
        ("analysis.thermometer.epochs=0", "analysis.thermometer.epochs must be"),
        ("+foo=1", "unknown key 'foo'; allowed:"),
        ("model.train.lr=-1", "model.train.lr must be > 0, got -1"),
        ("model.train.optimizer=rmsprop", "model.train.optimizer must be one of 'sgd', 'adam'"),
        ("model.net.units=ising", "model.net.units must be one of 'spin', 'binary'"),
    ],
)
def test_bad_input_is_one_clear_line(override, message, smoke_cfg):
    cfg = smoke_cfg(override)
    with pytest.raises(ConfigError) as info:
        validate_everything(cfg)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_cuda_requested_without_gpu_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="device=cuda but no CUDA device"):
        resolve_device("cuda")


def test_stack_that_does_not_fit_the_lattice_is_refused(isolated):
    cfg = compose_config(["model=stacked_rbm", "model.layers=[1024,256,64]", *isolated])
    with pytest.raises(ConfigError, match=r"model.net.layers\[0\] must equal the number of visible units"):
        validate_everything(cfg)
