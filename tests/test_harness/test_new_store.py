"""A new SQLite store is a copy of an empty one MLflow made (rgexp.tracking.new_store): the same file
MLflow would have made in its place — schema, schema version, rows — with the Default experiment's
artifact location as MLflow sets it; a damaged template is made again; where no template can be kept
MLflow makes the store itself. Each test keeps its templates in its own cache directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from rgexp.tracking import new_store
from rgexp.tracking.tracker import MLflowTracker


def _dump(db: Path) -> dict:
    """Every table's and index's definition (its lines) and every table's rows, the Default
    experiment's two times left out."""
    with sqlite3.connect(db) as con:
        tables = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
        # the order of a table's constraints varies between two stores MLflow makes: compared as a set
        schema = {name: sorted(line.strip().rstrip(",") for line in sql.splitlines()) for name, sql in tables.items()}
        rows = {}
        for name in sorted(t for t, sql in tables.items() if sql.startswith("CREATE TABLE")):
            columns = [c[1] for c in con.execute(f"PRAGMA table_info({name})")]
            kept = [c for c in columns if not (name == "experiments" and c.endswith("_time"))]
            rows[name] = sorted(con.execute(f"SELECT {', '.join(kept)} FROM {name}").fetchall(), key=repr)
    con.close()
    return {"schema": schema, "rows": rows}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_copied_store_is_the_store_mlflow_makes_in_its_place(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlflows").mkdir()
    store = SqlAlchemyStore(f"sqlite:///{tmp_path / 'mlflows' / 'mlflow.db'}", str(tmp_path / "mlruns"))
    store.engine.dispose()
    (tmp_path / "copied").mkdir()
    assert new_store.create_from_template(tmp_path / "copied" / "mlflow.db")
    assert new_store.template_path().is_relative_to(cache)
    mlflows, copied = _dump(tmp_path / "mlflows" / "mlflow.db"), _dump(tmp_path / "copied" / "mlflow.db")
    assert copied["schema"] == mlflows["schema"] and copied["rows"] == mlflows["rows"]
    assert copied["rows"]["experiments"][0][:3] == (0, "Default", str(tmp_path / "mlruns" / "0"))
    assert not list((tmp_path / "copied").glob(".*.part"))


def test_a_tracker_uses_the_copy_and_its_runs_log(cache, tmp_path):
    tracker = MLflowTracker(root=str(tmp_path / "store"), experiment="x")
    exp_id = tracker.setup()
    assert new_store.template_path().is_file()
    run = tracker.client.create_run(exp_id)
    tracker.client.log_metric(run.info.run_id, "m", 1.5, step=3)
    assert [(m.step, m.value) for m in tracker.client.get_metric_history(run.info.run_id, "m")] == [(3, 1.5)]


def test_a_damaged_template_is_made_again(cache, tmp_path):
    template = new_store.template_path()
    template.parent.mkdir(parents=True)
    template.write_bytes(b"not a database")
    assert new_store.create_from_template(tmp_path / "mlflow.db")
    assert _dump(tmp_path / "mlflow.db")["rows"]["alembic_version"] != []
    assert new_store._readable(template)


def test_without_a_cache_mlflow_makes_the_store(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file: no directory can be made under it
    assert not new_store.create_from_template(tmp_path / "mlflow.db")
    assert not (tmp_path / "mlflow.db").exists() and not list(tmp_path.glob(".*.part"))
    tracker = MLflowTracker(root=str(tmp_path / "store"), experiment="x")
    assert tracker.setup() == tracker.client.get_experiment_by_name("x").experiment_id
