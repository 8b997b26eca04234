"""Install packages into the environment of the Python that runs this script, as ``make setup`` does.

usage: python scripts/install.py SPEC [SPEC ...]     (e.g. torch==2.13.0 -e '.[test,launchers]')

With uv (installed into the environment on first use) when it can be had, else with pip. uv resolves
and installs the same versions several times faster (a fresh environment: ~20 s against ~70 s here,
most of pip's time spent waiting on the indexes one request at a time), and it does not byte-compile
the installed packages (Python compiles what it imports, once). uv does not read pip's configuration,
so this script hands it over: the indexes, find-links, constraint files and certificate that
``pip config list`` shows (files and PIP_* variables), and pip's rule of taking the best version
across all indexes (``UV_INDEX_STRATEGY=unsafe-best-match``). A UV_* variable you set wins.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

# pip's option -> uv's command-line flag (options that can hold several values, space-separated)
FLAGS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint"}
SECTIONS = ("global", "install", ":env:")  # pip's precedence: later ones win
UV = Path(sys.executable).with_name("uv")  # uv installed into this environment


def pip_options() -> dict[str, str]:
    """pip's effective install options, from ``pip config list`` (lines ``section.key='value'``)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    found: dict[tuple[int, str], str] = {}
    for line in out.splitlines():
        name, eq, value = line.partition("=")
        section, _, key = name.rpartition(".")
        if eq and section in SECTIONS:
            found[(SECTIONS.index(section), key)] = value.strip().strip("'\"")
    return {key: value for (_, key), value in sorted(found.items())}


def uv_command(specs: list[str], options: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The ``uv pip install`` command and environment that install ``specs`` as pip would."""
    cmd = [str(UV), "pip", "install", "--quiet", "--python", sys.executable]
    for key, flag in FLAGS.items():
        if key in options and not os.environ.get(f"UV_{key.upper().replace('-', '_')}"):
            cmd += [part for value in shlex.split(options[key]) for part in (flag, value)]
    env = dict(os.environ)
    env.setdefault("UV_INDEX_STRATEGY", "unsafe-best-match")
    if "cert" in options:
        env.setdefault("SSL_CERT_FILE", options["cert"])
    for key in ("timeout", "default-timeout"):
        if key in options:
            env.setdefault("UV_HTTP_TIMEOUT", options[key])
    return cmd + specs, env


def main(specs: list[str]) -> int:
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    if not UV.exists() and subprocess.run([*pip, "uv"]).returncode != 0:
        print("install: uv could not be installed; installing with pip", file=sys.stderr)
        return subprocess.run([*pip, *specs]).returncode
    cmd, env = uv_command(specs, pip_options())
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
