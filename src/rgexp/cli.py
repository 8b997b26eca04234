"""Command-line support shared by ``python -m rgexp`` and ``python -m rgexp.report``: where the
configs are, the argv fix-up, the pre-flight composition check with its one-line errors, the
up-front validation of every job of a sweep, and a sweep's names from its overrides (the parent's
title, each job's name and group of seeds: :mod:`rgexp.tracking.sweep` makes the runs). No Hydra
app runs here (that is :mod:`rgexp.__main__`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from rgexp.errors import ConfigError, StorageError
from rgexp.schema import register

# The Hydra configs live inside the package (shipped as package data, see pyproject.toml), so a
# clone, an editable install, `pip install .` and a wheel all find them, from any working directory
# (tests/test_harness/test_wheel.py installs a wheel into a fresh venv and runs a preset elsewhere).
CONFIG_DIR = str(Path(__file__).resolve().parent / "conf")
register()  # the structured configs that the YAML files extend (rgexp.schema): before any composition
MULTIRUN_FLAGS = ("-m", "--multirun")
# ``report=false``: whether a sweep ends with its report, a setting of the sweep's callback (not of a run)
SWEEP_REPORT = "++hydra.callbacks.tracking_store.report"


def fix_argv(argv: list[str]) -> list[str]:
    """``prog a=1 -m b=1,2`` -> ``prog -m a=1 b=1,2`` (a no-op without ``-m``); ``report=X`` ->
    the sweep callback's setting."""
    argv = [argv[0], *(SWEEP_REPORT + a[len("report"):] if a.startswith("report=") else a for a in argv[1:])]
    if not any(a in MULTIRUN_FLAGS for a in argv[1:]):
        return argv
    return [argv[0], "-m", *[a for a in argv[1:] if a not in MULTIRUN_FLAGS]]


# Hydra flags after which the command line is not a plain list of overrides: leave those to Hydra.
_OTHER_FLAGS = ("-c", "--cfg", "-p", "--package", "-i", "--info", "-cn", "--config-name",
                "-cp", "--config-path", "-cd", "--config-dir", "--experimental-rerun", "-h", "--help",
                "--hydra-help", "--run", "-r", "--shell-completion", "-sc")


def _one_line(err: Exception, overrides: list[str], parsed: list | None = None) -> str:
    """Hydra's multi-line composition errors as one line naming the key and what is allowed."""
    text = str(err)
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if lines and lines[0].startswith("Could not override") and "To append" in text:
        key = lines[0].split("'")[1]
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        allowed = _keys_of(parent, [o for o in overrides if not o.startswith(key + "=")])
        return f"unknown key '{key}'; allowed: {allowed or '(none)'}"
    if "Could not find" in text or "Could not load" in text:
        head = lines[0].split(": ", 1)[-1] if lines[0].startswith("In '") else lines[0]
        group = head.split("'")[1].rsplit("/", 1)[0] if head.count("'") >= 2 else ""
        options = _available_options(lines) or (
            sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml")) if group else [])
        return f"{lines[0]}; allowed {group}: {', '.join(options)}" if options else lines[0]
    if lines and lines[0].startswith("Error merging override"):
        override = lines[0].removeprefix("Error merging override").strip()
        cause = err.__cause__ or err.__context__
        detail = str(cause).splitlines()[0] if cause is not None and str(cause) else "cannot be merged"
        return f"{override}: {detail}"
    if text.startswith("Config group override must be"):
        bad = [o for o in parsed or [] if not o.is_sweep_override() and not isinstance(o.value(), (str, list))
               and (Path(CONFIG_DIR) / o.key_or_group).is_dir()]
        group = bad[0].key_or_group if bad else ""
        options = sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml")) if group else []
        where = f"{bad[0].input_line}: " if bad else ""
        return f"{where}{lines[0]}" + (f"; allowed {group}: {', '.join(options)}" if options else "")
    return "; ".join(lines[:2])


def _available_options(lines: list[str]) -> list[str]:
    """The option names Hydra lists after "Available options in 'group':" (up to the next header)."""
    if not any(l.startswith("Available options in") for l in lines):
        return []
    start = next(i for i, l in enumerate(lines) if l.startswith("Available options in")) + 1
    out = []
    for line in lines[start:]:
        if line.endswith(":") or "=" in line:  # "Config search path:", "provider=…"
            break
        out.append(line)
    return out


def _keys_of(node: str, overrides: list[str]) -> str:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=node.startswith("hydra"))
    sub = OmegaConf.select(cfg, node) if node else cfg
    return ", ".join(k for k in sub.keys() if not str(k).startswith("_")) if sub is not None else "?"


def _parse_error(override: str, err: Exception) -> str:
    """One line for an override the grammar rejects, naming it."""
    lines = [l.strip() for l in str(err).splitlines() if l.strip() and not l.startswith("See https")]
    detail = next((l for l in lines if not l.startswith("Error parsing override")), "cannot be parsed")
    detail = re.sub(r"expecting \{[^}]*\}", "expecting a value", detail)
    return f"malformed override '{override}': {detail} (the form is key=value, group=option, +key=value or ~key)"


def preflight(argv: list[str]) -> str | None:
    """Compose the config once with the non-sweep overrides; a composition error as one line.

    Hydra's own groups (``hydra/launcher=…``, ``hydra.launcher.n_jobs=…``) are composed too, so a
    bad launcher choice fails here, in one line, before any job starts."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = argv[1:]
    if any(a in _OTHER_FLAGS or a.split("=")[0] in _OTHER_FLAGS for a in args):
        return None
    overrides = [a for a in args if a not in MULTIRUN_FLAGS]
    parser = OverridesParser.create()
    parsed = []
    for item in overrides:
        try:
            parsed.extend(parser.parse_overrides([item]))
        except Exception as err:  # the grammar's errors come as several exception types
            return _parse_error(item, err)
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    for trial in [plain, *_sweep_trials(parsed, plain)]:
        try:
            with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
                compose("config", overrides=trial, return_hydra_config=True)
        except Exception as err:
            return _one_line(err, trial, parsed)
        finally:
            GlobalHydra.instance().clear()
    return None


def _sweep_trials(parsed: list, plain: list[str]) -> list[list[str]]:
    """Override lists that put each sweep value in once: every value of a group sweep (an option
    may not exist), the first of any other sweep (only its key can be wrong at composition)."""
    trials = []
    for o in (o for o in parsed if o.is_sweep_override()):
        try:
            values = list(o.sweep_string_iterator())
        except Exception:  # glob(...) sweeps need Hydra's config loader: left to Hydra
            continue
        is_group = "." not in o.key_or_group and (Path(CONFIG_DIR) / o.key_or_group).is_dir()
        for value in values if is_group or o.key_or_group.startswith("hydra/") else values[:1]:
            trials.append([*plain, f"{o.get_key_element()}={value}"])
    return trials


MAX_SWEEP_CHECK = 512  # jobs validated up front; a larger sweep leaves each job to check itself


def check_sweep(argv: list[str]) -> str | None:
    """Validate every job of a ``-m`` sweep before any starts, with the checks ``pipeline.run`` makes
    before creating a run, so that a bad value in job 7 is not found after jobs 0–6 have run (or,
    with a parallel launcher, while they run). The first problem as one line, else None."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rgexp.pipeline import validate

    args = argv[1:]
    if not any(a in MULTIRUN_FLAGS for a in args) or any(a.split("=")[0] in _OTHER_FLAGS for a in args):
        return None
    given = [a for a in args if a not in MULTIRUN_FLAGS]
    own = _sweeper_params(given)
    swept = {o.key_or_group for o in OverridesParser.create().parse_overrides(own + given) if o.is_sweep_override()}
    jobs = expand_sweep(given, own)
    if jobs is None:
        return None
    for num, job in enumerate(jobs[:MAX_SWEEP_CHECK]):
        task = [o for o in job if not o.lstrip("+~").startswith("hydra")]
        try:
            with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
                cfg = compose("config", overrides=task)
            validate(cfg, task)
        except (ConfigError, StorageError) as err:
            which = " ".join(o for o in job if o.split("=", 1)[0].lstrip("+~") in swept)
            return f"sweep job #{num} ({which}): {explain(err, task)}"
        finally:
            GlobalHydra.instance().clear()
    return None


def explain(err: Exception, overrides: list[str]) -> str:
    """The error's line, saying where an unknown key came from when the user did not type it: a
    preset sets keys of the options it was written for (``experiment=smoke sampler=chain1d``)."""
    text = str(err)
    m = re.match(r"unknown key '([^']+)'", text)
    typed = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    preset = next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), None)
    if m and m.group(1) not in typed and preset:
        text += f" (set by experiment={preset}, which does not fit the options chosen with it)"
    return text


def expand_sweep(overrides: list[str], sweeper_params: Mapping[str, Any] | list[str]) -> list[list[str]] | None:
    """Every job's overrides, as Hydra's BasicSweeper expands them: a preset's own sweep
    (``hydra.sweeper.params``) first, a key given on the command line replacing it. None for
    what only Hydra's config loader can expand (``glob(…)`` sweeps)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper  # Hydra's own expansion
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = sweeper_params if isinstance(sweeper_params, list) else [f"{k}={v}" for k, v in sweeper_params.items()]
    try:
        parsed = OverridesParser.create().parse_overrides([*params, *overrides])
        return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except Exception:  # noqa: BLE001 — several exception types; the jobs check themselves
        return None


def _sweeper_params(overrides: list[str]) -> list[str]:
    """``hydra.sweeper.params`` of the config composed with the non-sweep ``overrides``, as overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    plain = [o.input_line for o in OverridesParser.create().parse_overrides(overrides) if not o.is_sweep_override()]
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose("config", overrides=plain, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    params = cfg.hydra.sweeper.get("params") or {}
    return [f"{k}={v}" for k, v in params.items()]


# ------------------------------------------------------------------------------ a sweep's names
SEED_KEYS = ("seed", "data_seed")


def override_key(override: str) -> str:
    """The key of an override: ``+model.x=1`` -> ``model.x``, ``seed=0,1`` -> ``seed``."""
    return override.split("=", 1)[0].lstrip("+~")


def seedlike(key: str) -> bool:
    """Keys whose values do not set a group of seeds apart: the seeds, the device and the keys that
    cannot change results (as the report groups runs, :mod:`rgexp.report.collect`)."""
    from rgexp.config import HARMLESS_GROUPS, HARMLESS_SETTINGS

    return key in (*SEED_KEYS, "device", *HARMLESS_SETTINGS) or re.split(r"[./]", key)[0] in HARMLESS_GROUPS


@lru_cache(maxsize=1)
def default_choices() -> dict[str, str | None]:
    """The primary config's group choices (``conf/config.yaml``'s defaults list)."""
    from omegaconf import OmegaConf

    entries = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / "config.yaml")).get("defaults", [])
    return {k: v for entry in entries if isinstance(entry, dict) for k, v in entry.items()}


def choice_tags(choices: Mapping[str, Any]) -> dict[str, str]:
    """Hydra's runtime choices as run tags ``model=stacked_rbm``: the project's groups, not Hydra's own
    nor a preset's placement of its sizes (``scales/rbm_flow@_global_``)."""
    return {str(g): str(c) for g, c in choices.items() if c is not None and not str(g).startswith("hydra")
            and "@" not in str(g)}


def _shown_choices(choices: Mapping[str, Any], swept: list[str]) -> list[str]:
    """``group=option`` for each choice that is not the primary config's, nor swept, nor the preset
    (whose name is the MLflow experiment's), nor a group that cannot change results."""
    return [f"{g}={choices[g]}" for g, default in default_choices().items()
            if g != "experiment" and g not in swept and not seedlike(g) and g in choices and choices[g] != default]


def swept_keys(overrides: list[str], sweeper_params: Mapping[str, Any]) -> list[str]:
    """The keys a sweep varies, in the order of Hydra's expansion: the preset's own sweep first."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return list(dict.fromkeys([*map(str, sweeper_params), *(o.key_or_group for o in parsed if o.is_sweep_override())]))


def job_name(job_overrides: list[str], swept: list[str], choices: Mapping[str, Any]) -> str:
    """A sweep job's run name, what varies: the choices that differ from the primary config's, then
    the swept values (``model=stacked_rbm seed=1``)."""
    values = [o for o in job_overrides if override_key(o) in swept]
    return " ".join(_shown_choices(choices, swept) + values) or "(no sweep)"


def job_group(job_overrides: list[str], swept: list[str]) -> str:
    """The job's group of seeds: its swept values but the seeds (``model=stacked_rbm``; "" when
    only seeds vary)."""
    return " ".join(o for o in job_overrides if override_key(o) in swept and not seedlike(override_key(o)))


def sweep_title(overrides: list[str], sweeper_params: Mapping[str, Any]) -> str:
    """What a sweep's parent is named after (behind its experiment's name): the group choices given,
    the preset's own sweep and the sweep overrides, as typed (``model=stacked_rbm seed=0,1,2``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    groups = set(default_choices()) - {"experiment"}
    typed = [o.input_line for o in parsed if not o.is_sweep_override() and o.key_or_group in groups
             and not seedlike(o.key_or_group)]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    keys = {o.key_or_group for o in sweeps}
    own = [f"{k}={v}" for k, v in sweeper_params.items() if str(k) not in keys]
    return " ".join([*typed, *own, *(o.input_line for o in sweeps)]) or "(no sweep)"
