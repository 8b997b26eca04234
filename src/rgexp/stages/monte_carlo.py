"""Stage ``monte_carlo``: the data, from the content-addressed cache or the sampler, and its
diagnostics (``mc/T<T>/*``). Also :func:`data_at_sizes`, the Monte Carlo of other lattice sizes or
temperatures that thermometers and the Δ baseline need."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import OmegaConf

from rgexp.cache import data_key
from rgexp.config import instantiate_node
from rgexp.metric_names import MetricName
from rgexp.seeding import child_stream, stage_streams

if TYPE_CHECKING:
    from rgexp.stages import Context

NEEDS: tuple[str, ...] = ()
GIVES = ("data", "data_key")  # the data, and its content hash (the cache key)

THERMOMETER_STREAM = 0  # child of mc_coarse for thermometer data (lattice sizes, the other children, are >= 1)


def _mc_seed(settings) -> int:
    return settings.data_seed if settings.data_seed is not None else settings.seed


def run(ctx: Context) -> dict:
    mc = stage_streams(_mc_seed(ctx.settings))["mc"]
    sampler_cfg = OmegaConf.to_container(ctx.cfg.sampler, resolve=True)
    key = data_key(sampler_cfg, mc.entropy, mc.spawn_key)
    data, hit = ctx.parts.cache.get_or_create(key, lambda: ctx.parts.sampler.sample(mc, progress=ctx.settings.progress))
    if data.lattice_shape != tuple(ctx.parts.sampler.lattice_shape):
        raise RuntimeError(f"sampler returned lattice {data.lattice_shape}, expected {ctx.parts.sampler.lattice_shape}")
    ctx.tracked.set_tags({"data_hash": key, "data_cache_hit": str(hit)})
    for t, info in zip(data.temperatures, data.info):
        numeric = {k: v for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        ctx.tracked.log_metrics({str(MetricName("mc", k, T=t, stage_qualified=True)): v for k, v in numeric.items()})
    return {"data": data, "data_key": key}


def data_at_sizes(ctx: Context, sizes: list[int | None], temperatures: list[float] | None = None,
                  n_samples: int | None = None) -> dict:
    """Monte Carlo data of the sampler config at each linear size in ``sizes`` (None: the data's own
    size), optionally at other ``temperatures`` and ``n_samples``: coarse thermometers, the
    Δ-against-T baseline, thermometer data on a wider grid.

    Size L draws from its own child of the ``mc_coarse`` stream (data at other temperatures from a
    child of child THERMOMETER_STREAM; within it, one stream per T), and is cached like the data.
    """
    base = stage_streams(_mc_seed(ctx.settings))["mc_coarse"]
    if temperatures is not None:
        base = child_stream(base, THERMOMETER_STREAM)
    changes = ({"temperatures": list(temperatures)} if temperatures is not None else {}) | (
        {"n_samples": n_samples} if n_samples is not None else {})
    out = {}
    for L in sizes:
        node = OmegaConf.to_container(ctx.cfg.sampler, resolve=True) | ({"L": L} if L is not None else {}) | changes
        sampler = instantiate_node(OmegaConf.create(node), "sampler")
        ss = child_stream(base, L if L is not None else THERMOMETER_STREAM)
        out[L], _ = ctx.parts.cache.get_or_create(data_key(node, ss.entropy, ss.spawn_key),
                                                  lambda: sampler.sample(ss, progress=ctx.settings.progress))
    return out
