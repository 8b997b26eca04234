"""Every config group composes and instantiates; bad input gives one clear ConfigError line."""

import pytest

from rgexp.config import check_config
from rgexp.errors import ConfigError
from rgexp.pipeline import build_parts, resolve_device
from tests.conftest import CONF, compose_config


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in ("sampler", "model", "flow", "rg", "analysis", "tracking") for o in group_options(g)],
)
def test_every_group_option_composes_and_instantiates(group, option, isolated):
    overrides = [f"{group}={option}", *isolated]
    if group == "sampler" and option in ("chain1d", "long_range"):
        overrides.append("rg.n_steps=0")  # block-spin RG is for 2D nearest-neighbour lattices
    cfg = compose_config(overrides)
    check_config(cfg)
    parts = build_parts(cfg)
    assert parts.sampler.lattice_shape


@pytest.mark.parametrize("name", group_options("experiment"))
def test_every_experiment_preset_validates(name, isolated):
    cfg = compose_config([f"experiment={name}", *isolated])
    check_config(cfg)
    build_parts(cfg)


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
        ("analysis.observables=[entropy]", "analysis.observables must be a list of one of"),
        ("+foo=1", "unknown key 'foo'; allowed:"),
    ],
)
def test_bad_input_is_one_clear_line(override, message, smoke_cfg):
    cfg = smoke_cfg(override)
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
        build_parts(cfg)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_cuda_requested_without_gpu_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="device=cuda but no CUDA device"):
        resolve_device("cuda")
