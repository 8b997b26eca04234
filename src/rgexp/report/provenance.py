"""Where a set of results came from: the code (commit, whether the tree was clean), the command,
the machine (CPU, cores, memory, the library versions) — read from the system, never typed.

:func:`code_state` is taken before the runs (the results file the harness then writes changes the
tree); :func:`machine` at any time. Each returns ``(label, value)`` pairs in display order.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["checkout_root", "code_state", "machine", "command_line", "wall_seconds"]

VERSIONED = ("torch", "numpy", "mlflow", "hydra-core", "rgexp")


def checkout_root() -> Path | None:
    """The source checkout the running package lives in (``src/rgexp`` under a directory with
    ``pyproject.toml``), or None for an installed package."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "rgexp").is_dir() else None


def written_file(given: Path | None, name: str, out: Path) -> Path:
    """Where a command writes a committed page: ``given``, else ``docs/<name>`` of the source checkout
    it runs from, else (an installed package) ``out/<name>``."""
    if given is not None:
        return given
    root = checkout_root()
    return root / "docs" / name if root is not None else out / name


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_state(root: Path | None = None) -> list[tuple[str, str]]:
    """The commit and whether the working tree was clean (no uncommitted or untracked files)."""
    root = root if root is not None else checkout_root()
    commit = _git(root, "rev-parse", "HEAD") if root is not None else None
    if commit is None:
        return [("commit", "not a git checkout (an installed package)")]
    status = _git(root, "status", "--porcelain")
    changed = [line for line in (status or "").splitlines() if line.strip()]
    tree = "clean" if status is not None and not changed else f"{len(changed)} uncommitted or untracked path(s)"
    subject = _git(root, "log", "-1", "--format=%s") or ""
    return [("commit", f"{commit}" + (f" ({subject[:80]})" if subject else "")), ("working tree", tree)]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        import psutil

        return f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except (ImportError, OSError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[tuple[str, str]]:
    """CPU model, logical cores, memory, OS, Python and the versions of the libraries that matter."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    pairs = [("CPU", _cpu_model()), ("cores", f"{cores} logical" + (f" ({usable} usable)" if usable != cores else "")),
             ("memory", _memory_gb()), ("system", platform.platform()), ("python", platform.python_version())]
    return pairs + [(name, _version(name)) for name in VERSIONED]


def command_line(module: str, argv: list[str]) -> str:
    """``python -m rgexp.reproduce scale=quick seeds=1``, quoted as a shell would need it."""
    return shlex.join(["python", "-m", module, *argv])


def wall_seconds(states: list[dict]) -> float:
    """The time during which at least one of the sweeps ran (their [started, ended] intervals merged);
    the sum of their seconds for states written before the intervals were recorded."""
    if not all("started" in s for s in states):
        return sum(s["seconds"] for s in states)
    total, end = 0.0, float("-inf")
    for s in sorted(states, key=lambda s: s["started"]):
        total += max(0.0, s["ended"] - max(s["started"], end))
        end = max(end, s["ended"])
    return total
