"""``MemoryRun``: the interface stages use on a TrackedRun, held in dicts (no MLflow, no disk)."""

from __future__ import annotations

import ast
import inspect

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rgexp.tracking import MemoryRun, TrackedRun  # noqa: E402
from tests.conftest import ROOT  # noqa: E402


def test_it_records_what_a_stage_logs():
    run = MemoryRun()
    run.log_metrics({"train/loss": 2.0, "train/acc": 0.5}, step=3)
    run.log_metrics({"train/loss": 1.0}, step=5)
    run.log_metrics({"train/loss": 9.0}, step=3)  # a step logged twice stays visible
    run.log_metrics({"mc/T_c": 2.27})
    run.flush()
    assert run.metrics["train/loss"] == [(3, 2.0), (5, 1.0), (3, 9.0)]
    assert run.history("train/loss") == [(3, 2.0), (3, 9.0), (5, 1.0)]
    assert run.latest == {"train/loss": (5, 1.0), "train/acc": (3, 0.5), "mc/T_c": (0, 2.27)}
    run.set_tags({"data_hash": "abc", "n": 3})
    run.log_params({"seed": "0"})
    run.log_text("seed: 0\n", "config.yaml")
    fig = plt.figure()
    run.log_figure(fig, "figures/a.png")
    assert not plt.fignum_exists(fig.number)  # the run takes ownership, as TrackedRun does
    drawn: list = []
    run.log_figure(lambda: drawn.append(plt.figure()) or drawn[-1], "figures/b.png")  # recorded, not drawn
    assert drawn == []
    MemoryRun(draw=True).log_figure(lambda: drawn.append(plt.figure()) or drawn[-1], "figures/c.png")
    assert len(drawn) == 1 and not plt.fignum_exists(drawn[0].number)  # drawn, then closed
    d = np.arange(3.0)
    run.log_arrays("arrays/G.npz", d=d)
    d[0] = 99  # the run holds a copy
    run.save_checkpoint({"trainer": {"update": 4, "w": torch.ones(2)}, "config": "seed: 0\n"})
    run.end("FINISHED")
    assert run.tags == {"data_hash": "abc", "n": "3"} and run.params == {"seed": "0"}
    assert run.texts == {"config.yaml": "seed: 0\n"} and run.figures == ["figures/a.png", "figures/b.png"]
    assert run.arrays["arrays/G.npz"]["d"].tolist() == [0.0, 1.0, 2.0]
    assert run.checkpoints["checkpoints/last.pt"]["trainer"]["update"] == 4
    assert run.status == "FINISHED" and run.flushes == 1 and len(run.run_id) == 32


def test_a_checkpoint_a_resume_could_not_load_fails_here_too():
    with pytest.raises(Exception, match="Weights only load failed"):
        MemoryRun().save_checkpoint({"trainer": {"array": np.arange(3)}})


def _stage_calls() -> set[str]:
    """Attributes used on a run (``tracked.x`` or ``self.tracked.x``) outside rgexp.tracking."""
    used = set()
    for path in (ROOT / "src" / "rgexp").rglob("*.py"):
        if "tracking" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                owner = node.value
                name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
                if name == "tracked":
                    used.add(node.attr)
    return used


def test_it_has_every_method_stages_call_with_trackedruns_signature():
    used = _stage_calls()
    assert {"log_metrics", "flush", "log_figure", "run_id"} <= used  # the scan does see the stages
    run = MemoryRun()
    assert sorted(a for a in used if not hasattr(run, a)) == []
    for name in used:
        ours, theirs = getattr(MemoryRun, name, None), getattr(TrackedRun, name, None)
        if callable(ours) and callable(theirs):
            assert inspect.signature(ours) == inspect.signature(theirs), name
