"""The fixed-point study's arithmetic against closed forms: side switches, Wilson's interval, the
finite-size fit on exact curves and its intercept's variance."""

import math
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from rgexp.report.fixed_point_study import (M_STAR, RunEnd, finite_size_fit, run_end, summarize, switches)
from rgexp.tracking import RunRecord

T_C = 2 / math.log(1 + math.sqrt(2))


def test_switches_count_crossings_of_the_cut_in_step_order():
    assert switches([(30, 0.2), (0, 0.1), (10, 0.9), (20, 0.95)]) == 2
    assert switches([(0, 0.96), (5, float("nan")), (9, 0.97)]) == 0 and switches([]) == 0


def test_a_runs_end_is_read_at_its_last_update_with_its_history():
    final = {M_STAR: 0.95, "fixed_point/temperature_energy": 1.9, "fixed_point/temperature_network": 2.1}
    record = RunRecord("0" * 32, "seed=0", "rbm_flow", "FINISHED", {}, {}, final,
                       {M_STAR: [(0, 0.1), (100, 0.9), (200, 0.2), (400, 0.95)]})
    end = run_end(record)
    assert end.ordered and end.switches == 3 and end.T["energy"] == 1.9 and math.isnan(end.T["magnetization"])
    assert run_end(RunRecord("1" * 32, "r", "smoke", "FINISHED", {}, {}, {}, {})) is None


def test_the_ordered_fraction_has_wilsons_interval():
    ends = [RunEnd({"energy": T, "magnetization": T, "network": T}, m, s)
            for T, m, s in ((1.9, 0.95, 1), (1.8, 0.96, 3), (4.1, 0.1, 2), (1.85, 0.97, 0), (4.2, 0.08, 4))]
    s = summarize("n_hidden=81", ends)
    n, p, z = 5, 3 / 5, 1.959963984540054
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (s.n, s.ordered) == (5, 3) and s.ordered_interval == pytest.approx((center - half, center + half), abs=1e-9)
    assert s.T["energy"].value == pytest.approx(np.mean([1.9, 1.8, 4.1, 1.85, 4.2]))
    assert s.T["energy"].error == pytest.approx(np.std([1.9, 1.8, 4.1, 1.85, 4.2], ddof=1))
    assert s.switches.value == pytest.approx(2.0)
    with pytest.raises(ValueError, match="has no run"):
        summarize("empty", [])


def test_the_finite_size_fit_recovers_an_exact_curve_and_its_intercept_variance():
    L = np.array([6.0, 8.0, 10.0, 12.0])
    fit = finite_size_fit(L, T_C + 3.0 / L, np.full(4, 0.01))
    assert fit.T_inf.value == pytest.approx(T_C, abs=1e-10) and fit.a == pytest.approx(3.0) and fit.dof == 2
    x = 1 / L  # equal errors: var(intercept) = σ² Σx² / (n Σx² − (Σx)²)
    assert fit.T_inf.error == pytest.approx(0.01 * math.sqrt((x**2).sum() / (4 * (x**2).sum() - x.sum() ** 2)))
    t = 4.302652729911275  # Student t, 2 degrees of freedom, 97.5 %
    assert fit.interval == pytest.approx((T_C - t * fit.T_inf.error, T_C + t * fit.T_inf.error))
    L = np.array([6.0, 8.0, 10.0, 12.0, 16.0])
    free = finite_size_fit(L, T_C + 2.0 * L**-1.5, np.full(5, 0.01), nu=None)
    assert free.T_inf.value == pytest.approx(T_C, abs=1e-6) and free.nu.value == pytest.approx(1 / 1.5, rel=1e-5)
    with pytest.raises(ValueError, match="more than 3 sizes"):
        finite_size_fit(L[:3], T_C + 1 / L[:3], np.full(3, 0.01), nu=None)


def _ends(ms, Ts, sw):
    return [RunEnd({"energy": T, "magnetization": T, "network": T}, m, s) for m, T, s in zip(ms, Ts, sw)]


def test_an_arms_effect_is_each_difference_with_its_interval():
    from scipy import stats

    from rgexp.report.fixed_point_study import effect

    base = summarize("base", _ends([0.95, 0.96, 0.1, 0.97, 0.08], [1.9, 1.8, 4.1, 1.85, 4.2], [1, 3, 2, 0, 4]))
    arm = summarize("arm", _ends([0.95] * 5, [1.8, 1.9, 1.85, 1.9, 1.95], [0, 0, 1, 0, 0]))
    e = effect(arm, base)
    # Newcombe's method 10 from the two Wilson intervals: p1 − p2 = 1 − 0.6
    (l1, u1), (l2, u2) = arm.ordered_interval, base.ordered_interval
    assert e.ordered == pytest.approx((0.4, 0.4 - math.hypot(1 - l1, u2 - 0.6), 0.4 + math.hypot(u1 - 1, 0.6 - l2)))
    assert e.ordered[1] < 0 < e.ordered[2]  # five seeds each: 3/5 against 5/5 is no shown effect
    welch = stats.ttest_ind([1.8, 1.9, 1.85, 1.9, 1.95], [1.9, 1.8, 4.1, 1.85, 4.2], equal_var=False)
    assert e.T[1:] == pytest.approx(tuple(welch.confidence_interval(0.95)))
    assert e.switches[0] == pytest.approx(0.2 - 2.0)


def test_newcombes_interval_matches_his_worked_example():
    """Newcombe, Stat. Med. 17, 873 (1998), Table II, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339."""
    from rgexp.report.fixed_point_study import _newcombe

    diff, low, high = _newcombe(56, 70, 48, 80, 0.95)
    assert diff == pytest.approx(0.2) and (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def _record(experiment, params, m, T, history, tags=None):
    final = {M_STAR: m} | {f"fixed_point/temperature_{r}": T + d for r, d in
                           (("energy", 0.0), ("magnetization", -0.2), ("network", 0.1))}
    return RunRecord(f"{abs(hash((experiment, str(params), m, T))):032x}"[:32], "r", experiment, "FINISHED", params,
                     tags or {}, final, {M_STAR: history})


def _side(option, m, T, history):
    """A run of fixed_point_side with the setting ``option`` (its config group's choice, a tag)."""
    n = option.removeprefix("n_hidden_") if option.startswith("n_hidden_") else "81"
    return _record("fixed_point_side", {"model.net.n_hidden": n}, m, T, history, {"fixed_point_side": option})


def test_the_page_has_a_table_and_a_figure_per_question_from_the_runs(tmp_path):
    from rgexp.report.study_page import write_page

    rng = np.random.default_rng(0)
    side = [_side(f"n_hidden_{n}", m, T, [(0, 0.1), (9, m)]) for n in (16, 81) for m, T in ((0.95, 1.9), (0.1, 4.1), (0.96, 1.8))]
    sgd = [_side("sgd", 0.95, 1.9 + 0.01 * i, [(0, 0.95)]) for i in range(3)]
    runs = {"fixed_point_side": side + sgd,
            "fixed_point_size": [_record("fixed_point_size", {"sampler.L": str(L)}, 0.3, T_C + 3 / L + rng.normal(0, 0.01), [])
                                 for L in (6, 8, 10, 12) for _ in range(3)]}
    page = write_page(tmp_path / "docs" / "study.md", runs, "python -m rgexp.study scale=quick")
    text = page.read_text()
    assert "`python -m rgexp.study scale=quick`" in text
    assert "| n_hidden=81 | 3 | 2/3 [" in text and "| plain SGD (lr 0.01) instead of Adam | 3 | 3/3 [" in text
    assert "**plain SGD (lr 0.01) instead of Adam** (3 seeds against 3)" in text
    assert "| L=6 | 3 |" in text and "| L=12 | 3 |" in text
    fit = next(line for line in text.splitlines() if "ν = 1 (energy reading)" in line)
    assert "holds T_c" in fit  # exact 1/L data around T_c with small noise
    low = next(line for line in text.splitlines() if "ν = 1 (magnetization reading)" in line)
    assert "excludes T_c" in low  # the same curve 0.2 below: 20 times the noise
    assert "ν free (network reading)" in text
    assert (tmp_path / "docs" / "figures" / "fixed_point_side.png").is_file()
    assert (tmp_path / "docs" / "figures" / "fixed_point_size.png").is_file()
    assert "Not finished" not in text
    # a question whose sweep stopped part-way: said above its table, with the command that continues it
    text = write_page(tmp_path / "docs" / "study.md", runs, "c", unfinished={"fixed_point_size": (12, 15)}).read_text()
    size_part = text[text.index("## T* against"):]
    assert size_part.count("**Not finished**") == 1 and "the 12 runs that finished of the 15 it is to hold" in size_part
    assert "`python -m rgexp.study questions=size` continues it" in size_part and "Not finished" not in text[:text.index("## T* against")]
    # a question not run yet: its section names the command that runs it, and no figure is drawn for it
    text = write_page(tmp_path / "new" / "study.md", {"fixed_point_side": sgd}, "c").read_text()
    assert "Not run yet: `python -m rgexp.study questions=size`" in text and "| L=6 |" not in text
    assert not (tmp_path / "new" / "figures" / "fixed_point_size.png").exists()


def test_a_question_absent_from_the_store_keeps_its_section_from_the_page(tmp_path):
    """Run on two machines (or one store gone): each write replaces only the sections of the questions
    whose runs it has, each section naming the command that wrote it."""
    from rgexp.report.study_page import SIDE_HEADING, SIZE_HEADING, write_page

    side = [_side(f"n_hidden_{n}", m, T, [(0, m)]) for n in (16, 81) for m, T in ((0.95, 1.9), (0.1, 4.1))]
    size = [_record("fixed_point_size", {"sampler.L": str(L)}, 0.3, T_C + 3 / L + 0.01 * i, [])
            for L in (6, 8) for i in range(2)]
    page = tmp_path / "study.md"

    def section(text, heading):
        part = text[text.index(f"## {heading}"):]
        return part[:part.index("\n## ", 3)] if "\n## " in part[3:] else part

    first = write_page(page, {"fixed_point_side": side}, "python -m rgexp.study questions=side").read_text()
    assert "Not run yet: `python -m rgexp.study questions=size`" in section(first, SIZE_HEADING)
    second = write_page(page, {"fixed_point_size": size}, "python -m rgexp.study questions=size").read_text()
    assert section(second, SIDE_HEADING) == section(first, SIDE_HEADING)  # kept, verbatim
    assert "Written by `python -m rgexp.study questions=side`." in section(second, SIDE_HEADING)
    assert "Written by `python -m rgexp.study questions=size`." in section(second, SIZE_HEADING)
    assert "| L=8 | 2 |" in second
    # a kept "not run yet" is no result: it is written anew, and a question with runs replaces its section
    third = write_page(page, {"fixed_point_side": side[:2]}, "python -m rgexp.study").read_text()
    assert "| n_hidden=16 | 2 |" in third and "| n_hidden=81 |" not in third
    assert section(third, SIZE_HEADING) == section(second, SIZE_HEADING)


@pytest.mark.parametrize("scale", ["quick", "paper"])
def test_the_study_presets_are_their_base_preset_with_one_change_measuring_the_fixed_point_alone(scale):
    from rgexp.config import check_config
    from rgexp.study import QUESTIONS
    from tests.conftest import CONF, compose_config

    base = {"rbm_flow": compose_config(["experiment=rbm_flow", f"scale={scale}"]),
            "iso_flow": compose_config(["experiment=iso_flow", f"scale={scale}"])}
    assert QUESTIONS == {"side": (("fixed_point_side",), 5), "size": (("fixed_point_size",), 3)}  # one sweep a question
    # each setting of question 1 (the preset's own sweep): (hidden units, what changes in training)
    changed = {f"n_hidden_{n}": (n, {}) for n in (16, 36, 64, 81, 100)} | {
        "sgd": (81, {"optimizer": "sgd", "lr": 0.01}), "cd1": (81, {"persistent": False}),
        "decaying": (81, {"lr_schedule": "cosine", "lr_final_fraction": 0.1})}
    preset_file = OmegaConf.load(Path(CONF) / "experiment" / "fixed_point_side.yaml")
    assert preset_file.hydra.sweeper.params.fixed_point_side == ",".join(changed)
    jobs = [("fixed_point_side", [f"fixed_point_side={option}"]) for option in changed]
    for preset, setting in [*jobs, ("fixed_point_size", ["sampler.L=6"])]:  # one point of the size sweep
        cfg = compose_config([f"experiment={preset}", f"scale={scale}", *setting])
        check_config(cfg)
        assert cfg.name == preset
        base_cfg = base["iso_flow" if preset == "fixed_point_size" else "rbm_flow"]
        assert cfg.analysis.fixed_point == base_cfg.analysis.fixed_point and cfg.analysis.thermometer == base_cfg.analysis.thermometer
        assert list(cfg.stages) == ["monte_carlo", "thermometers", "training"]
        if preset == "fixed_point_size":
            assert cfg.sampler.L == 6 and cfg.model.net.n_hidden == 36  # as many hidden as visible units
            assert cfg.model.train == base["iso_flow"].model.train and cfg.sampler.temperatures == base["iso_flow"].sampler.temperatures
            continue
        n_hidden, change = changed[setting[0].split("=")[1]]
        train = {k: v for k, v in cfg.model.train.items() if base["rbm_flow"].model.train[k] != v}
        net = {k: v for k, v in cfg.model.net.items() if base["rbm_flow"].model.net[k] != v}
        assert train == change and net == ({} if n_hidden == 81 else {"n_hidden": n_hidden})
        assert cfg.sampler == base["rbm_flow"].sampler


def test_study_arguments_and_their_one_line_errors():
    from rgexp.study import UsageError, parse_args

    opts = parse_args(["questions=size", "seeds=2", "tracking.root=/tmp/x", "page=/tmp/p.md"])
    assert opts["questions"] == ["size"] and opts["seeds"] == 2 and opts["tracking"] == ["tracking.root=/tmp/x"]
    assert parse_args(["jobs=auto"])["jobs"] is None and parse_args(["jobs=3"])["jobs"] == 3  # as its error line says
    for bad in (["questions=colour"], ["seeds=0"], ["level=2"], ["scale=huge"], ["x"]):
        with pytest.raises(UsageError):
            parse_args(bad)
