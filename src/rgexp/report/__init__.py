"""The comparison report: MLflow runs back in, reference values and the sources' claims checked.

``python -m rgexp.report experiment=NAME [sweep=ID] [tag.KEY=VALUE] [runs=ID,ID] [out=DIR]`` reads
the finished runs of an experiment (or sweep, tags, run ids), groups them into seeds of one config,
and writes ``report.md`` and a self-contained ``report.html`` with PNG figures: each metric's final
value as mean ± std over seeds, curves against flow length / RG step / layer, and a verdict
(reproduced / not reproduced / inconclusive) for every reference value and qualitative claim of
:mod:`rgexp.report.references`, by the rules of :mod:`rgexp.report.intervals`. The report leads
with a scorecard (:mod:`rgexp.report.scorecard`): one row per claim of a source, estimator and
group of runs; the per-metric verdicts follow in an appendix. The files are also
logged to MLflow as the artifacts of a run tagged ``rgexp_report=1`` (see ``rgexp.tracking``).

Modules: ``references`` (the table of references and claims), ``intervals`` (statistics and
verdict rules), ``names`` (which metrics are diagnostics; the names themselves and their companions:
:mod:`rgexp.metric_names`), ``collect`` (groups, values with errors), ``checks``
(verdict rows), ``scorecard`` (the claims the report leads with) and ``readings`` (how
a claim reduces its metrics), ``figures``, ``document`` (Markdown/HTML), ``build`` (the report), ``__main__`` (CLI).
"""

__all__ = ["Report", "build_report"]


def __getattr__(name: str):
    # Lazy: ``python -m rgexp.report`` with a bad argument answers before matplotlib, torch and
    # mlflow are imported.
    if name in __all__:
        from rgexp.report import build

        return getattr(build, name)
    raise AttributeError(f"module 'rgexp.report' has no attribute {name!r}")
