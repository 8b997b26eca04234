"""The binned flow stage (analysis.binned) in a real run: every flowed configuration lands in one
bin at every flow length, both binnings and the paper-named figures are logged."""


from tests.conftest import FIGURES
from rgexp.pipeline import run

BINNED = "analysis.binned={_target_:rgexp.analysis.BinnedFlow,by:[network,energy],min_count:5,n_boot:10}"


def test_binned_stage_pools_every_start_at_every_flow_length(smoke_cfg, mlflow_client):
    cfg = smoke_cfg(BINNED, "flow.extra_starts=[random]", FIGURES)
    result = run(cfg)
    r = mlflow_client.get_run(result["run_id"])
    n_starts = len(cfg.sampler.temperatures) + 1
    for prefix in ("flow_binned", "flow_binned_energy"):
        counts = [k for k in r.data.metrics if k.startswith(f"{prefix}/count/T")]
        assert counts
        per_step: dict[int, float] = {}
        for name in counts:
            for m in mlflow_client.get_metric_history(r.info.run_id, name):
                per_step[m.step] = per_step.get(m.step, 0.0) + m.value
        assert per_step == {k: n_starts * cfg.flow.n_samples for k in range(cfg.flow.n_steps + 1)}
        history = mlflow_client.get_metric_history(r.info.run_id, f"{prefix}/temperature")
        assert sorted(m.step for m in history) == list(range(cfg.flow.n_steps + 1))
        temps = cfg.sampler.temperatures
        assert all(min(temps) <= m.value <= max(temps) for m in history)
    figures = {a.path for a in mlflow_client.list_artifacts(r.info.run_id, "figures")}
    for name in ("fig2_delta_sigma_m", "fig4_m_fit", "fig5a_delta_sigma", "fig6a_delta_epsilon", "occupancy"):
        assert f"figures/flow_binned_{name}.png" in figures
        assert f"figures/flow_binned_energy_{name}.png" in figures
    assert set(result["metrics"]["flow_binned"]) == {"network", "energy"}
