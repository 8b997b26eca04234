"""Every default has one home: the typed classes of rgexp.hyperparameters and rgexp.config.RunSettings.

The composed config takes each value from there (through rgexp.schema's structured configs), the
YAML files write none of their own, the code's signatures show the same, and a bad value of any
key is one line naming it.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from rgexp.analysis import NeuralThermometer, train_thermometer
from rgexp.config import RunSettings
from rgexp.errors import ConfigError
from rgexp.hyperparameters import StackOptions, ThermometerConfig, TrainConfig
from rgexp.models import RBMTrainer, StackedRBMTrainer
from rgexp.pipeline import validate
from rgexp.schema import NODES, node_defaults
from tests.conftest import CONF, compose_config

HOMES = {"rbm_train": (TrainConfig,), "stacked_rbm_train": (TrainConfig, StackOptions),
         "thermometer": (ThermometerConfig,)}
# where each node lands in the composed config, and the override that selects it
PLACES = {"rbm_train": ("model.train", []),
          "stacked_rbm_train": ("model.train", ["model=stacked_rbm", "model.layers=[64,16,4]"]),
          "thermometer": ("analysis.thermometer", [])}


def _defaults(*classes: type) -> dict:
    out = {}
    for cls in classes:
        for f in dataclasses.fields(cls):
            out[f.name] = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return out


@pytest.mark.parametrize("node", sorted(NODES))
def test_the_composed_config_holds_the_homes_defaults(node):
    where, overrides = PLACES[node]
    composed = OmegaConf.to_container(OmegaConf.select(compose_config(overrides), where), resolve=True)
    target, partial, _ = NODES[node]
    assert composed.pop("_target_") == target and composed.pop("_partial_", False) is partial
    assert composed == _defaults(*HOMES[node]) == node_defaults(node)
    # types too: 1e-3 stays a float, 100 an int, True a bool
    assert [type(v) for v in composed.values()] == [type(v) for v in _defaults(*HOMES[node]).values()]


def test_the_top_level_settings_come_from_run_settings():
    cfg = OmegaConf.to_container(compose_config([]), resolve=True)
    fields = [f for f in dataclasses.fields(RunSettings) if f.default is not dataclasses.MISSING]
    assert {f.name: cfg[f.name] for f in fields} == {f.name: f.default for f in fields} == node_defaults("settings")
    assert RunSettings.checkpoint_every == 200 and TrainConfig.holdout_fraction == 0.1


def _yaml_keys(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text()) or {})


def test_the_yaml_files_write_no_default_of_their_own():
    """The files of the defaults hold only their defaults lists (and comments): no key of a home."""
    for name in ("rbm", "stacked_rbm"):
        assert _yaml_keys(CONF / "model" / "train" / f"{name}.yaml") == {"defaults"}
        assert "train" not in _yaml_keys(CONF / "model" / f"{name}.yaml")
    assert "thermometer" not in _yaml_keys(CONF / "analysis" / "default.yaml")
    settings = {f.name for f in dataclasses.fields(RunSettings)} - {"stages"}
    assert not settings & _yaml_keys(CONF / "config.yaml")
    # nor does any other file outside the presets restate a home's key under its node
    for path in CONF.rglob("*.yaml"):
        if path.parts[len(CONF.parts)] in ("experiment", "scales"):
            continue
        tree = yaml.safe_load(path.read_text()) or {}
        for key in ("train", "thermometer"):
            assert not isinstance(tree.get(key), dict), f"{path} writes {key} values"


def test_the_code_takes_the_same_defaults():
    def signature_defaults(obj, names):
        params = inspect.signature(obj).parameters
        return {k: params[k].default for k in names}

    train = _defaults(TrainConfig)
    assert signature_defaults(RBMTrainer, train) == train
    assert signature_defaults(StackedRBMTrainer, train | _defaults(StackOptions)) == train | _defaults(StackOptions)
    therm = _defaults(ThermometerConfig)
    assert signature_defaults(NeuralThermometer, therm) == therm
    assert signature_defaults(train_thermometer, ThermometerConfig.TRAINING) == {
        k: therm[k] for k in ThermometerConfig.TRAINING}
    assert NeuralThermometer().config == ThermometerConfig()


def _bad_value_cases() -> list[tuple[str, str, list[str]]]:
    """(node, key, extra overrides): every key of every node, set to a value no check accepts."""
    cases = []
    for node, classes in HOMES.items():
        for cls in classes:
            if node == "stacked_rbm_train" and cls is TrainConfig:
                continue  # the same keys as rbm_train
            cases += [(node, f.name, PLACES[node][1]) for f in dataclasses.fields(cls)]
    return cases


@pytest.mark.parametrize("node,key,extra", _bad_value_cases())
def test_a_bad_value_of_any_key_is_one_line_naming_it(node, key, extra, isolated):
    where = PLACES[node][0]
    cfg = compose_config(["experiment=smoke", *extra, *isolated, f"{where}.{key}=not-a-value"])
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    text = str(info.value)
    assert f"{where}.{key}" in text and "not-a-value" in text and "\n" not in text, text


@pytest.mark.parametrize("override,message", [
    ("model.train.foo=1", "unknown key 'model.train.foo'; allowed: epochs, batch_size"),
    ("analysis.thermometer.foo=1", "unknown key 'analysis.thermometer.foo'; allowed: hidden, epochs"),
])
def test_an_unknown_key_is_one_line_naming_the_allowed_ones(override, message):
    from rgexp.cli import preflight

    line = preflight(["rgexp", "experiment=smoke", override])
    assert line is not None and line.startswith(message) and "\n" not in line
