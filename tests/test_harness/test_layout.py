"""The layout rules the code base promises: MLflow only in the tracking package, and the numerical
kernels (samplers, models, flows, RG, analysis) free of MLflow, Hydra and printing."""

import ast
from pathlib import Path

from tests.conftest import ROOT

SRC = ROOT / "src" / "rgexp"
KERNELS = ("ising", "models", "flows", "rg", "analysis")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _calls_print(path: Path) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
               for n in ast.walk(ast.parse(path.read_text(), str(path))))


def test_only_the_tracking_package_imports_mlflow():
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "mlflow" in _imports(p))
    assert users and all(u.startswith("tracking/") for u in users), users


def test_numerical_kernels_do_no_tracking_configuration_or_printing():
    files = [p for pkg in KERNELS for p in (SRC / pkg).rglob("*.py")]
    assert len(files) > 20  # the scan sees the packages
    bad = [(str(p.relative_to(SRC)), sorted(_imports(p) & {"mlflow", "hydra"})) for p in files
           if _imports(p) & {"mlflow", "hydra"}]
    printing = [str(p.relative_to(SRC)) for p in files if _calls_print(p)]
    assert bad == [] and printing == [], (bad, printing)
