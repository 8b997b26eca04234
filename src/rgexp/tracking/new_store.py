"""A new SQLite store, copied from an empty one that MLflow made.

MLflow makes a new SQLite store by running every schema migration since its first release, one after
another: 3–5 s on a 2-core machine, longer than a small run's own work, paid by the first run in
every new ``tracking.root`` (and by every test that makes one). For one MLflow version the result is
the same every time (tables, indexes, schema version, rows; only the order in which a table's
constraints are written varies from one run of the migrations to the next), apart from the Default
experiment's artifact location (``./mlruns/0`` of the directory MLflow ran in) and its times. So
rgexp keeps one empty store per MLflow version in the user's cache (``$XDG_CACHE_HOME/rgexp`` or
``~/.cache/rgexp``), made by MLflow itself the first time it is needed, and makes a new store by
copying it and writing those fields as MLflow would have. Anything in the way (no cache directory, a
template that does not read back) leaves the store to MLflow: the copy is only ever a shortcut.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

__all__ = ["create_from_template", "template_path"]


def template_path() -> Path:
    """Where this MLflow version's empty store is kept."""
    import mlflow

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rgexp" / f"mlflow-{mlflow.__version__}-empty.db"


def create_from_template(db: Path) -> bool:
    """Create the SQLite store ``db`` (absent) as a copy of the empty one; False where it could not
    be (then nothing was written at ``db``, and MLflow creates the store as usual)."""
    part = db.with_name(f".{db.name}.{os.getpid()}.part")
    try:
        template = _template()
        shutil.copyfile(template, part)
        now = int(time.time() * 1000)
        with sqlite3.connect(part) as con:  # the Default experiment as MLflow makes it in this directory
            con.execute("UPDATE experiments SET artifact_location = ?, creation_time = ?, last_update_time = ? "
                        "WHERE experiment_id = 0", (os.path.abspath(os.path.join("mlruns", "0")), now, now))
        con.close()
        os.replace(part, db)
        return True
    except (OSError, sqlite3.Error):
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        return False


def _template() -> Path:
    """This MLflow version's empty store, made now by MLflow if the cache does not hold it yet."""
    path = template_path()
    if _readable(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        made = Path(tmp) / "empty.db"
        _make_with_mlflow(made)
        if not _readable(made):
            raise sqlite3.DatabaseError(f"MLflow's new store {made} does not read back")
        os.replace(made, path)  # atomic: processes making it at once each leave a whole file
    return path


def _make_with_mlflow(db: Path) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db}", str(db.parent / "mlruns"))
    store.engine.dispose()  # no connection left open on the file that is moved


def _readable(db: Path) -> bool:
    """An MLflow store with a schema version and exactly the Default experiment."""
    if not db.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            ok = (con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
                  and con.execute("SELECT experiment_id FROM experiments").fetchall() == [(0,)])
        con.close()
        return ok
    except sqlite3.Error:
        return False

