"""The orchestrator: ``run(cfg)`` takes a composed config through every stage, one MLflow run.

Stages, each on its own seed stream (rgexp.seeding.STAGES):
  mc     -> Monte Carlo data (content-addressed cache)
  init   -> model initialisation
  train  -> RBM training (checkpointed, resumable bit for bit)
  flow   -> RBM flow of the data at each temperature
  rg     -> block-spin RG of the data
  measure every set of configurations with the ``analysis`` group and log it.

Everything is validated and instantiated before the run starts, so a bad config costs nothing.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from typing import Any, Callable

import torch
from omegaconf import DictConfig, OmegaConf

import rgexp.models  # noqa: F401  (first: it flushes subnormals before any torch work; rgexp.models.subnormals)

from rgexp import resume as resume_mod
from rgexp import chain_stage, measure, stages
from rgexp.cache import DataCache, data_key
from rgexp.config import RunSettings, check_config, instantiate_group, instantiate_node
from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve, ModelEnergyCurve
from rgexp.errors import ConfigError, Interrupted
from rgexp.fixed_point_stage import FixedPointTracker
from rgexp.ising import T_C
from rgexp.ising.data import IsingData
from rgexp.perf import StageClock
from rgexp.summary import run_summary, ui_address
from rgexp.seeding import child_stream, numpy_generator, stage_streams, torch_generator
from rgexp.tracking import MLflowTracker, TrackedRun, flatten
from rgexp.tracking.probe import unreachable

__all__ = ["run", "validate", "resolve_device"]


@dataclass
class Parts:
    """The instantiated config groups."""

    sampler: Any
    flow: Any
    rg: Any
    analysis: dict[str, Any]  # measurements, thermometer (or None), receptive (or None)
    tracker: MLflowTracker
    cache: DataCache


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is a ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA device is available; allowed: auto, cpu, cuda")
    return torch.device(device)


def build_parts(cfg: DictConfig) -> Parts:
    """Instantiate every group except the model (which needs the data's size)."""
    made = {g: instantiate_group(cfg[g], g) for g in ("sampler", "flow", "rg", "analysis", "tracking", "cache")}
    problem = unreachable(made["tracking"].uri)
    if problem is not None:  # before any work: MLflow's own retries would take minutes
        raise ConfigError(f"tracking.uri={made['tracking'].uri}: the tracking server cannot be reached: {problem}; "
                          "start it (mlflow server --host 127.0.0.1 --port 5000 …) or use tracking=local")
    for key, why in (("binned", "its bins are the thermometer's classes"),
                     ("fixed_point", "its readings use the thermometer's data and network")):
        if made["analysis"].get(key) is not None and made["analysis"].get("thermometer") is None:
            raise ConfigError(f"analysis.{key} needs analysis.thermometer ({why}); "
                              f"set analysis.{key}=null or keep the thermometer")
    if made["analysis"].get("criticality") is not None and not hasattr(made["sampler"], "sigma"):
        raise ConfigError("analysis.criticality needs sampler=long_range (it scans σ's Binder crossings)")
    lattice = made["sampler"].lattice_shape
    if made["rg"].n_steps > 0:
        try:
            made["rg"].check_lattice(lattice[-1])
        except ValueError as err:
            raise ConfigError(f"rg: {err}; change sampler.L or rg.n_steps") from None
    return Parts(made["sampler"], made["flow"], made["rg"], made["analysis"], made["tracking"], made["cache"])


# SIGUSR2: what SLURM/submitit send ahead of a time limit (submitit's default ``--signal=USR2@90``);
# without a handler it would kill the job between checkpoints.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)


class _StopFlag:
    """A stop signal -> stop at the next safe point; a second signal stops at once.

    Safe points: every RBM update, between stages, and between temperatures of the flow stage.
    """

    def __init__(self, extra: Callable[[], bool] | None) -> None:
        self.extra = extra
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None or (self.extra is not None and self.extra())

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise Interrupted(f"stopped by signal {signum}")
        self.signum = signum

    @contextlib.contextmanager
    def installed(self):
        old = {}
        try:
            for sig in STOP_SIGNALS:
                old[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: rely on the injected stop only
            pass
        try:
            yield self
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def check(self, after: str) -> None:
        """Raise Interrupted at this safe point when a stop was asked for."""
        if self():
            raise Interrupted(f"stopped after the {after} stage")


@dataclass
class Validated:
    """A config that has passed every check that needs no data, with what it instantiated."""

    cfg: DictConfig  # on resume: the logged config (with the allowed overrides applied)
    checkpoint: dict | None
    settings: RunSettings
    parts: Parts
    device: torch.device
    model: torch.nn.Module


def validate(cfg: DictConfig, overrides: list[str] | None = None) -> Validated:
    """Every check ``run`` makes before it creates an MLflow run; writes nothing.

    Raises ConfigError (a one-line message naming the key and what is allowed) for bad input, and
    for a resume whose checkpoint is missing or corrupt or whose overrides would change results.
    ``python -m rgexp -m …`` calls it for every job of a sweep before the first one starts.
    """
    checkpoint = None
    if cfg.get("resume"):
        cfg, checkpoint = resume_mod.prepare(cfg, overrides)
    settings = check_config(cfg)
    temps = settings.train_temperatures
    if temps is not None and (not temps or any(not t > 0 for t in temps)):
        raise ConfigError(f"train_temperatures must be a non-empty list of T > 0 or null, got {temps}")
    parts = build_parts(cfg)
    device = resolve_device(settings.device)
    model = stages.build_model(cfg, parts.sampler.lattice_shape, stage_streams(settings.seed), device)
    return Validated(cfg, checkpoint, settings, parts, device, model)


def run(
    cfg: DictConfig,
    *,
    tags: dict[str, str] | None = None,
    overrides: list[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run every stage of ``cfg`` as one MLflow run and return its summary.

    ``overrides`` are the command-line overrides (used on resume to refuse result-changing ones);
    ``should_stop`` is polled at every safe point (each RBM update, between stages and between
    temperatures), as SIGINT/SIGTERM/SIGUSR2 are.
    Returns ``{"run_id", "status", "data_key", "metrics", "model", "summary"}`` (``summary``: the
    lines a run ends with, :func:`rgexp.summary.run_summary`).
    Raises ConfigError before any work for bad input, Interrupted after checkpointing on a stop.
    """
    v = validate(cfg, overrides)
    config_yaml = OmegaConf.to_yaml(v.cfg, resolve=True)
    if v.checkpoint is not None:
        tracked = v.parts.tracker.reopen(v.settings.resume)
    else:
        params = flatten({k: x for k, x in OmegaConf.to_container(v.cfg, resolve=True).items() if k != "hydra"})
        run_name = f"{v.settings.name}-seed{v.settings.seed}"
        tracked = v.parts.tracker.start(run_name, config_yaml, params, tags or {})
    stop = _StopFlag(should_stop)
    status = "FAILED"
    try:
        with stop.installed():
            summary = _execute(v, tracked, config_yaml, stop)
        status = "FINISHED"
        lines = run_summary(tracked.run_id, status, v.settings.name, tracked.latest,
                            *ui_address(v.parts.tracker.uri, tracked.experiment_id, tracked.run_id))
        return summary | {"run_id": tracked.run_id, "status": status, "summary": lines}
    except Interrupted as err:
        status = "KILLED"
        err.run_id = tracked.run_id
        raise
    finally:
        tracked.end(status)


def _load_data(cfg: DictConfig, settings: RunSettings, parts: Parts, tracked: TrackedRun) -> tuple[IsingData, str]:
    mc = stage_streams(settings.data_seed if settings.data_seed is not None else settings.seed)["mc"]
    sampler_cfg = OmegaConf.to_container(cfg.sampler, resolve=True)
    key = data_key(sampler_cfg, mc.entropy, mc.spawn_key)
    data, hit = parts.cache.get_or_create(key, lambda: parts.sampler.sample(mc, progress=settings.progress))
    tracked.set_tags({"data_hash": key, "data_cache_hit": str(hit)})
    for t, info in zip(data.temperatures, data.info):
        numeric = {k: v for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        tracked.log_metrics({f"mc/T{t:.4f}/{k}": v for k, v in numeric.items()})
    return data, key


THERMOMETER_STREAM = 0  # child of mc_coarse for thermometer data (lattice sizes, the other children, are >= 1)


def _data_at_sizes(cfg: DictConfig, settings: RunSettings, parts: Parts, sizes: list[int | None],
                   temperatures: list[float] | None = None, n_samples: int | None = None) -> dict:
    """Monte Carlo data of the sampler config at each linear size in ``sizes`` (None: the data's own
    size), optionally at other ``temperatures`` and ``n_samples``: coarse thermometers, the
    Δ-against-T baseline, thermometer data on a wider grid.

    Size L draws from its own child of the ``mc_coarse`` stream (data at other temperatures from a
    child of child THERMOMETER_STREAM), and is cached like the data.
    """
    base = stage_streams(settings.data_seed if settings.data_seed is not None else settings.seed)["mc_coarse"]
    if temperatures is not None:
        base = child_stream(base, THERMOMETER_STREAM)
    changes = ({"temperatures": list(temperatures)} if temperatures is not None else {}) | (
        {"n_samples": n_samples} if n_samples is not None else {})
    out = {}
    for L in sizes:
        node = OmegaConf.to_container(cfg.sampler, resolve=True) | ({"L": L} if L is not None else {}) | changes
        sampler = instantiate_node(OmegaConf.create(node), "sampler")
        ss = child_stream(base, L if L is not None else THERMOMETER_STREAM)
        out[L], _ = parts.cache.get_or_create(data_key(node, ss.entropy, ss.spawn_key),
                                              lambda: sampler.sample(ss, progress=settings.progress))
    return out


def _thermometers(cfg, settings, parts: Parts, data: IsingData, model, seed, device, tracked) -> tuple[dict, dict]:
    """The data's thermometer and, with ``coarse_lattices``, one per coarse lattice size; trained on
    the data (and new data of the coarse sizes), or all on new data at ``temperatures``. Returns
    them by lattice shape, and the Monte Carlo curves the readings need: ``{kind: {shape: curve}}``,
    kind energy (the sampler's own energy per site against T: with couplings, as long range has, a
    ModelEnergyCurve with the coupling table of that lattice's own L; else ⟨s s'⟩(T)), nn_energy
    (⟨s s'⟩(T)) or magnetization (⟨|m|⟩(T))."""
    reader = parts.analysis.get("thermometer")
    if reader is None:
        return {}, {}
    table = getattr(parts.sampler, "coupling_table", None)  # L -> the model's couplings on L^d sites
    coarse = stages.coarse_sizes(data.lattice_shape, parts.rg, model) if reader.coarse_lattices else []
    if reader.temperatures is not None:
        fresh = _data_at_sizes(cfg, settings, parts, [None, *coarse], reader.temperatures, reader.n_samples)
        datasets = {(fresh[None].lattice_shape if L is None else (L, L)): d for L, d in fresh.items()}
    else:
        datasets = {data.lattice_shape: data}
        if coarse:
            datasets |= {(L, L): d for L, d in _data_at_sizes(cfg, settings, parts, coarse).items()}

    def curve(kind: str, d: IsingData):
        if kind == "energy" and table is not None:
            return ModelEnergyCurve.from_spins(d.temperatures, d.spins, table(d.lattice_shape[0]))
        return CURVES[kind].from_spins(d.temperatures, d.spins)

    curves = {kind: {shape: curve(kind, d) for shape, d in datasets.items()} for kind in _curves_needed(parts.analysis)}
    return measure.train_thermometer_stage(parts.analysis, datasets, seed, device, tracked), curves


# A sampler with a ``coupling_table`` (long range) gets ModelEnergyCurve for "energy" instead (_thermometers).
CURVES = {"energy": EnergyCurve, "nn_energy": EnergyCurve, "magnetization": MagnetizationCurve}


def _curves_needed(analysis: dict) -> set[str]:
    """Which Monte Carlo curves (energy, ⟨K⟩(T), ⟨|m|⟩(T)) the readings, binnings and the fixed point
    need: only those, since a curve reads every thermometer data set once (GBs at paper scale)."""
    reader, binned = analysis.get("thermometer"), analysis.get("binned")
    needed = {reader.reading} & set(CURVES) if reader is not None else set()
    needed |= {"energy", "magnetization"} if analysis.get("fixed_point") is not None else set()
    return needed | ({"energy"} if binned is not None and "energy" in binned.by else set())


NETWORK_READING_STREAM = 2**31  # child of fixed_point for the network's inputs; updates are children < 2**31


def _fixed_point_tracker(parts: Parts, data: IsingData, thermometers: dict, curves: dict, seed,
                         tracked: TrackedRun, device: torch.device) -> Callable | None:
    """``trainer -> FixedPointTracker`` for analysis.fixed_point (None when it is off)."""
    spec = parts.analysis.get("fixed_point")
    if spec is None:
        return None
    shape, reader = data.lattice_shape, parts.analysis["thermometer"]
    readers = {kind: curves[kind][shape].read for kind in ("energy", "magnetization")}
    if shape in thermometers:  # a fresh generator per reading: ±1 flows draw nothing, and nothing is shared
        readers["network"] = lambda x: reader.measure(thermometers[shape], x, generator=torch_generator(
            child_stream(seed, NETWORK_READING_STREAM), device)).mean_temperature
    T_c = parts.analysis["scaling"].T_c if parts.analysis.get("scaling") is not None else T_C

    def make(trainer) -> FixedPointTracker:
        return FixedPointTracker(spec, stages.bottom_rbm(trainer.model), data, readers, seed, tracked,
                                 trainer.total_updates, T_c)

    return make


def _execute(v: Validated, tracked: TrackedRun, config_yaml: str, stop: _StopFlag) -> dict:
    cfg, settings, parts, device = v.cfg, v.settings, v.parts, v.device
    streams, clock = stage_streams(settings.seed), StageClock()
    with clock("monte_carlo"):
        data, key = _load_data(cfg, settings, parts, tracked)
    if data.lattice_shape != tuple(parts.sampler.lattice_shape):
        raise RuntimeError(f"sampler returned lattice {data.lattice_shape}, expected {parts.sampler.lattice_shape}")
    thermo_ss, read_ss, receptive_ss, scaling_ss, baseline_ss, chain_ss, crit_ss = streams["analysis"].spawn(7)
    # thermometers first: they need only Monte Carlo data, and the fixed-point readings during
    # training use them (a resumed run retrains them on the same streams: the same thermometers)
    # (a stop asked for meanwhile is acted on at training's first safe point, after the untrained
    # model's checkpoint: the run stays resumable)
    with clock("thermometers"):
        thermometers, curves = _thermometers(cfg, settings, parts, data, v.model, thermo_ss, device, tracked)
    tracker = _fixed_point_tracker(parts, data, thermometers, curves, streams["fixed_point"], tracked, device)
    with clock("training"):
        model = stages.train_model(cfg, settings, v.model, data, streams, device, tracked, config_yaml,
                                   v.checkpoint, stop, fixed_point=tracker)
    stop.check("training")
    if parts.analysis.get("criticality") is not None:
        with clock("criticality"):
            tracked.log_metrics(parts.analysis["criticality"].measure(parts.sampler, crit_ss))
        stop.check("criticality")
    scaling = parts.analysis.get("scaling")
    scaling_ts = scaling.picks(data.temperatures) if scaling is not None else []
    if scaling is not None and scaling.baseline_sizes is not None and "L" in cfg.sampler:
        L = data.lattice_shape[-1]
        with clock("baseline"):
            others = _data_at_sizes(cfg, settings, parts, [s for s in scaling.baseline_sizes if s != L])
            sized = {L: data} if L in scaling.baseline_sizes else {}
            measure.baseline_stage(scaling, sized | others, numpy_generator(baseline_ss), tracked)
        stop.check("Monte Carlo baseline")
    measurer = measure.Measurer(parts.analysis, tracked, thermometers, torch_generator(read_ss, device),
                                scaling_ts, numpy_generator(scaling_ss), curves)
    with clock("flow_rg_measurements"):
        metrics: dict[str, Any] = stages.flow_and_rg(
            parts, model, data, streams, device, tracked, measurer, settings.progress,
            stop=lambda: stop.check("flow and RG"), layer_orders=measure.layer_orders(parts.analysis, model, data))
        measurer.log_histograms()
    with clock("binned"):
        metrics["flow_binned"] = measurer.log_binned(child_stream(streams["bootstrap"], 0))
    with clock("scaling_fits"):
        measurer.fit_magnetization("flow", metrics["flow"])
        metrics["delta"] = measurer.log_deltas()
    stop.check("scaling")
    with clock("receptive"):
        if len(data.lattice_shape) == 1:
            metrics["chain"] = chain_stage.chain_coupling_stage(model, data, parts.rg, parts.sampler,
                                                                numpy_generator(chain_ss), tracked)
        metrics["receptive"] = measure.receptive_stage(parts.analysis, model, data, parts.rg,
                                                       numpy_generator(receptive_ss), tracked)
    if thermometers:
        metrics["thermometer"] = next(iter(thermometers.values())).metrics()
        metrics["thermometers"] = {f"L{shape[-1]}": t.metrics() for shape, t in thermometers.items()}
    metrics["perf"] = clock.metrics()
    tracked.log_metrics(metrics["perf"])
    tracked.flush()
    return {"data_key": key, "metrics": metrics, "model": model}
