"""The claims file (rgexp/report/claims.yaml) and what reads it: the schema and its one-line errors,
a new claim as one entry that shows up as a row, the checks of exact results kept off the
scorecard, the references resolved from the registry of constants, and the report's modules
(no import cycle; the verdicts without matplotlib)."""

from __future__ import annotations

import ast
import fnmatch
import math
import subprocess
import sys
import tomllib

import pytest
import yaml

from rgexp.report.build import build_report
from rgexp.report.claims import ClaimsError, load_claims, model_of
from rgexp.report.collect import group_runs
from rgexp.report.judge import score
from tests.conftest import ROOT

REPORT = ROOT / "src" / "rgexp" / "report"
NN = {"sampler._target_": "rgexp.ising.Ising2DSampler", "sampler.J": "1.0", "name": "rbm_flow"}
CHAIN = {"sampler._target_": "rgexp.ising.chain1d.Chain1DSampler", "sampler.J": "1.0"}
T_C = 2 / math.log(1 + math.sqrt(2))


def run(seed: int, params: dict, curves: dict[str, list[float]]):
    from rgexp.tracking import RunRecord

    history = {n: list(enumerate(v)) for n, v in curves.items()}
    return RunRecord(f"{seed:032d}", f"r{seed}", "e", "FINISHED", {**params, "seed": str(seed)}, {},
                     {n: h[-1][1] for n, h in history.items()}, history)


def packaged() -> dict:
    return yaml.safe_load((REPORT / "claims.yaml").read_text())


# ------------------------------------------------------------------------------------- the file
def test_the_claims_file_ships_in_the_wheel():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["rgexp"]
    assert any(fnmatch.fnmatch("report/claims.yaml", g) for g in globs)


def test_every_packaged_claim_loads_with_its_sources_and_references():
    claims = load_claims()
    keys = [c.key for c in claims]
    assert len(keys) == len(set(keys)) == len(packaged()["claims"])
    for c in claims:
        assert set(c.source) <= set(claims.sources) and c.estimators
        for model in c.models:  # a constant reference is known for every model the claim names
            params = {"ising2d": NN, "chain1d": CHAIN}.get(model, {"sampler.sigma": "1.6", "sampler.d": "2"})
            if isinstance(c.reference, str) and (model, c.reference) != ("long_range", "T_c"):
                assert c.reference_value(params) is not None, (c.key, model)
    assert load_claims() is load_claims()  # read once


def test_references_come_from_the_registry_of_constants():
    (flow_tc,) = [c for c in load_claims() if c.key == "flow_tc"]
    assert flow_tc.reference_value(NN) == pytest.approx(T_C, rel=1e-15)
    assert flow_tc.reference_value({**NN, "sampler.J": "-2.0"}) == pytest.approx(2 * T_C)  # T_c ∝ |J|
    (mc_tc,) = [c for c in load_claims() if c.key == "mc_tc"]
    lr = {"sampler._target_": "rgexp.ising.long_range.LongRangeSampler", "sampler.d": "2"}
    assert mc_tc.reference_value({**lr, "sampler.sigma": "1.6"}) == 5.29321  # published, images
    assert mc_tc.reference_value({**lr, "sampler.sigma": "1.25"}) is None   # none known: no row
    assert mc_tc.reference_value({**lr, "sampler.sigma": "1.6", "sampler.couplings": "minimum_image"}) is None
    (lr_flow,) = [c for c in load_claims() if c.key == "lr_flow_delta"]
    assert lr_flow.reference_value({**lr, "sampler.sigma": "1.25"}) == 0.375  # (2 − σ)/2
    assert model_of(CHAIN) == "chain1d" and model_of({}) == "unknown"


def test_no_claim_of_a_source_compares_a_construction_with_its_closed_form():
    claims = load_claims()
    assert {c.key for c in claims.of("construction")} == {"variational", "variational_coupling"}
    for c in claims.of("claim"):  # a source's claim is measured, against a value of the model
        assert isinstance(c.reference, str) or c.reference is None, c.key
        assert "exact" not in c.source and not any(e.select.matches("variational/coupling/T1.0000")
                                                   for e in c.estimators), c.key


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.update(tolerence={"rel": 0.1}), "claims[0] 'flow_tc': unknown key 'tolerence'; allowed: key, source"),
    (lambda c: c.update(kind="equal"), "claims[0] 'flow_tc': kind 'equal'; allowed: equals, differs, bracket, trend"),
    (lambda c: c.update(reference="T_C"), "claims[0] 'flow_tc': reference 'T_C'; allowed: T_c, delta_sigma"),
    (lambda c: c.update(models=["ising3d"]), "claims[0] 'flow_tc': models 'ising3d'; allowed: ising2d, chain1d, long_range"),
    (lambda c: c.update(source="dmk2021"), "claims[0] 'flow_tc': source 'dmk2021'; allowed: dmk2020, iso2018"),
    (lambda c: c.update(category="finding"), "category 'finding'; allowed: claim, baseline, construction"),
    (lambda c: c.update(tolerance={"rel": -1}), "tolerance must be {rel: x, abs: y} with numbers >= 0"),
    (lambda c: c.update(min_effect={"rel": 0.1}), "kind equals takes tolerance, not min_effect"),
    (lambda c: c.pop("statement"), "missing key 'statement'"),
    (lambda c: c["estimators"][0].update(reduce="curves"), "estimator 'by start temperature': reduce 'curves'; "
                                                           "allowed: last, starts, sides, each"),
    (lambda c: c["estimators"][0].update(select={"stage": "flow", "T": "hot"}), "select: bad T 'hot'"),
    (lambda c: c["estimators"][0]["select"].update(regex="flow/.*"), "select: unknown field 'regex'"),
])
def test_a_bad_claim_fails_on_load_with_one_line_naming_it(tmp_path, edit, message):
    data = packaged()
    edit(data["claims"][0])
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    with pytest.raises(ClaimsError) as err:
        load_claims(path)
    text = str(err.value)
    assert message in text and "\n" not in text and text.startswith("claims.yaml: "), text


def test_bad_yaml_says_where(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("sources: {a: b}\nclaims:\n  - key: x\n    statement: a: b\n")
    with pytest.raises(ClaimsError, match=r"claims.yaml: not YAML at line 4, column 17"):
        load_claims(path)


# --------------------------------------------------------------------- a new claim is one entry
NEW = {"key": "flow_m_small", "source": "dmk2020", "where": "Fig. 3", "statement": "⟨|m|⟩ at the flows' end is small",
       "category": "claim", "models": ["ising2d"], "presets": ["rbm_flow"], "kind": "equals", "reference": "K_star",
       "tolerance": {"abs": 0.1},
       "estimators": [{"name": "every start", "select": {"stage": "flow", "observable": "abs_magnetization",
                                                         "T": "*"}, "reduce": "starts"}]}


def test_a_new_claim_is_one_entry_and_gets_its_row(tmp_path):
    # K* = 0 of the 2D model is unknown to the registry; the chain's is 0: a claim on chain runs
    data = packaged()
    data["claims"].append({**NEW, "models": ["chain1d"], "presets": None})
    data["claims"][-1].pop("presets")
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    records = [run(s, CHAIN, {"flow/abs_magnetization/T1.0000": [0.9, 0.5, 0.02 + 0.01 * s],
                              "flow/abs_magnetization/T2.0000": [0.6, 0.2, 0.03 + 0.01 * s]}) for s in range(3)]
    report = build_report(records, tmp_path / "out", title="t", selection="synthetic", claims_file=path)
    (row,) = [j for j in report.scorecard if j.claim.key == "flow_m_small"]
    assert row.verdict == "reproduced" and row.reference == "= 0 (K*; τ = 0.1)" and len(row.parts) == 2
    assert "⟨|m|⟩ at the flows' end is small (dmk2020 Fig. 3)" in report.markdown.read_text()
    assert not [j for j in build_report(records, tmp_path / "o2", title="t", selection="s").scorecard
                if j.claim.key == "flow_m_small"]  # the packaged file does not have it


def test_presets_restrict_where_a_claim_applies(tmp_path):
    data = packaged()
    data["claims"] = [{**NEW, "reference": "T_c", "tolerance": {"rel": 0.5}}]
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    claims = load_claims(path)
    curves = {"flow/abs_magnetization/T1.0000": [0.9, 2.0], "flow/abs_magnetization/T3.0000": [0.1, 2.1]}
    for name, rows in (("rbm_flow", 1), ("iso_flow", 0)):
        records = [run(s, {**NN, "name": name}, curves) for s in range(2)]
        assert len(score(group_runs(records), sorted(curves), claims=claims)) == rows


# --------------------------------------------------------------- exact checks apart; the modules
def test_checks_of_exact_results_are_not_on_the_scorecard(tmp_path):
    exact = [1.0, 0.66, 0.37]
    records = [run(s, CHAIN, {"rg/coupling/T1.0000": exact, "rg/coupling_exact/T1.0000": exact,
                              "variational/coupling/T1.0000": exact, "stack/coupling/T1.0000": [1.0, 0.5, 0.2]})
               for s in range(2)]
    report = build_report(records, tmp_path, title="t", selection="synthetic")
    assert [j.claim.key for j in report.scorecard] == ["stack_coupling"]  # gong2022: the one source here
    assert {j.claim.key for j in report.exact_checks} == {"rg_coupling_exact", "rg_coupling", "variational",
                                                           "variational_coupling"}
    assert sum(report.counts().values()) == 1
    md = report.markdown.read_text()
    checks = md[md.index("## Checks of exact results"):md.index("## Runs")]
    assert "construction (cannot fail on data)" in checks and "baseline (measured vs exact)" in checks
    assert "variational" not in md[md.index("## Scorecard"):md.index("## Checks of exact results")]


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rgexp.report"):
            found.add(node.module.removeprefix("rgexp.report").lstrip(".") or "__init__")
    return found


def test_the_report_modules_import_no_cycle():
    graph = {p.stem: _imports(p) - {p.stem} for p in REPORT.glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert not [m for m in graph if reaches(m, m, {m})]


def test_the_verdicts_import_no_plotting():
    code = ("import sys, rgexp.report.judge, rgexp.report.claims, rgexp.report.intervals; "
            "print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-2000:]


def test_a_trend_toward_a_value_unknown_for_the_model_gives_no_row(tmp_path):
    data = packaged()
    (flow_to_tc,) = [c for c in data["claims"] if c["key"] == "flow_to_tc"]
    data["claims"] = [{**flow_to_tc, "models": ["long_range"], "figure": ""}]
    data["claims"][0].pop("figure")
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    lr = {"sampler._target_": "rgexp.ising.long_range.LongRangeSampler", "sampler.sigma": "1.25", "sampler.d": "2"}
    records = [run(s, lr, {"flow/temperature/T6.0000": [6.0, 6.3, 6.5]}) for s in range(2)]
    assert score(group_runs(records), ["flow/temperature/T6.0000"], claims=load_claims(path)) == []
