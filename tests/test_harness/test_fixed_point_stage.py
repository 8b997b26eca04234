"""analysis.fixed_point in real runs: it leaves training untouched, it logs what a direct flow of the
model at that update gives, and a stopped run resumes to the same curve with no step twice."""

import pytest
import torch

from rgexp.analysis.energy_thermometer import EnergyCurve, MagnetizationCurve
from rgexp.analysis.fixed_point import FixedPoint, fixed_point_readings
from rgexp.cache import DataCache
from rgexp.errors import Interrupted
from rgexp.pipeline import run
from tests.conftest import FIGURES
from tests.test_harness.test_pipeline import StopAfter, same_parameters

FIXED = ("analysis.fixed_point={_target_:rgexp.analysis.FixedPoint,n_points:4,n_steps:6,n_samples:80,"
         "drift_steps:2,from_data:false}")
SHORT = ("model.train.epochs=4", "checkpoint_every=4")


def _history(client, run_id: str, name: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, name))


@pytest.fixture
def starts(monkeypatch) -> list[torch.Tensor]:
    """The generator state at each T = ∞ start a run draws (whatever stream the stage derived it
    from): a direct flow from the last one redoes the run's last point."""
    states, draw = [], FixedPoint.random_configs

    def recorded(self, n_visible, generator):
        states.append(generator.get_state())
        return draw(self, n_visible, generator)

    monkeypatch.setattr(FixedPoint, "random_configs", recorded)
    return states


def test_fixed_point_leaves_training_alone_and_matches_a_direct_flow(smoke_cfg, mlflow_client, shared_root, starts):
    off = run(smoke_cfg(*SHORT, "tracking.system_metrics=false"))
    assert not any(k.startswith("system/") for k in mlflow_client.get_run(off["run_id"]).data.metrics)
    cfg = smoke_cfg(*SHORT, FIXED, FIGURES)
    on = run(cfg)
    assert same_parameters(off["model"], on["model"])  # its own stream: the weights are the same
    r = mlflow_client.get_run(on["run_id"])
    energy = _history(mlflow_client, on["run_id"], "fixed_point/temperature_magnetization")
    assert len(energy) == 4 and len(starts) == 4
    # the last point is the trained model's: flow it directly from the same random start
    data = DataCache(shared_root / "cache").load(r.data.tags["data_hash"])
    spec = FixedPoint(n_points=4, n_steps=6, n_samples=80, drift_steps=2, from_data=False)
    gen = torch.Generator()
    gen.set_state(starts[-1])
    rbm = on["model"]
    readers = {"energy": EnergyCurve.from_spins(data.temperatures, data.spins).read,
               "magnetization": MagnetizationCurve.from_spins(data.temperatures, data.spins).read}
    v0 = rbm.from_spins(spec.random_configs(rbm.n_visible, gen))
    direct = fixed_point_readings(rbm, v0, 6, 2, gen, data.lattice_shape, readers)
    assert energy[-1][1] == pytest.approx(direct["temperature_magnetization"].value, rel=1e-12)
    m = _history(mlflow_client, on["run_id"], "fixed_point/abs_magnetization")
    assert m[-1][1] == pytest.approx(direct["abs_magnetization"].value, rel=1e-12)
    assert "figures/fixed_point.png" in {a.path for a in mlflow_client.list_artifacts(on["run_id"], "figures")}
    # each point its own start: no two updates drew the same configurations
    assert len({bytes(s.numpy()) for s in starts}) == 4


def test_fixed_point_survives_resume(smoke_cfg, mlflow_client):
    full = run(smoke_cfg(*SHORT, FIXED, "seed=1"))
    with pytest.raises(Interrupted) as info:
        run(smoke_cfg(*SHORT, FIXED, "seed=1"), should_stop=StopAfter(12))
    run_id = info.value.run_id
    resumed = run(smoke_cfg(*SHORT, FIXED, "seed=1", f"resume={run_id}"))
    assert same_parameters(full["model"], resumed["model"])
    for name in ("fixed_point/abs_magnetization", "fixed_point/temperature_network"):
        a, b = _history(mlflow_client, full["run_id"], name), _history(mlflow_client, run_id, name)
        assert a == b and len({s for s, _ in b}) == len(b), name
