"""The comparison report: MLflow runs back in, the sources' claims and the exact results judged.

``python -m rgexp.report experiment=NAME [sweep=ID] [tag.KEY=VALUE] [runs=ID,ID] [out=DIR]`` reads
the finished runs of an experiment (or sweep, tags, run ids), groups them into seeds of one config,
and writes ``report.md`` and a self-contained ``report.html`` with PNG figures. It leads with the
scorecard: one row per claim of a source, estimator and group of runs, each judged by an
equivalence test against its tolerance band (reproduced / not reproduced / inconclusive, with the
reason). The checks of exact results (the harness's measurements and constructions against closed
forms) follow in a table of their own, never counted among the sources' claims; then the runs, and
appendices: every metric's verdict, final values as mean ± std over seeds, curves against flow
length / RG step / layer, diagnostics. The files are also logged to MLflow as the artifacts of a
run tagged ``rgexp_report=1`` (see ``rgexp.tracking``).

Modules: ``claims.yaml`` (every claim, as data) and ``claims`` (reading it), ``intervals``
(statistics and the verdict rule), ``judge`` (the one function that judges a claim), ``collect``
(groups, values with errors), ``names`` (which metrics are diagnostics; the names themselves:
:mod:`rgexp.metric_names`), ``scorecard`` (the verdict tables), ``figures``, ``document``
(Markdown/HTML), ``build`` (the report), ``results`` and ``provenance`` (``docs/results.md``,
written by :mod:`rgexp.reproduce`), ``__main__`` (CLI). ``claims``, ``intervals`` and ``judge``
import no plotting library.
"""

__all__ = ["Report", "build_report"]


def __getattr__(name: str):
    # Lazy: ``python -m rgexp.report`` with a bad argument answers before matplotlib, torch and
    # mlflow are imported.
    if name in __all__:
        from rgexp.report import build

        return getattr(build, name)
    raise AttributeError(f"module 'rgexp.report' has no attribute {name!r}")
