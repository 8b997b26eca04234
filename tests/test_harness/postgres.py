"""A throw-away PostgreSQL cluster for tests: the machine's own ``initdb``/``pg_ctl`` in a temporary
directory, listening on 127.0.0.1 (a free port) and on a Unix socket in that directory.

PostgreSQL refuses to run as root: as root the cluster runs as the unprivileged ``postgres`` user
(Debian's package creates it; else ``nobody``) through ``setpriv``, and its directory is that
user's. Administration commands (``createuser``, ``createdb``) connect through the socket with
``PGHOST``, ``PGPORT`` and ``PGUSER`` set, so they run exactly as written in docs/operations.md.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Cluster", "find_binaries"]

TOOLS = ("initdb", "pg_ctl", "createuser", "createdb")


def find_binaries() -> Path | None:
    """The directory holding initdb, pg_ctl, createuser and createdb (PATH first, then Debian's
    versioned /usr/lib/postgresql/<major>/bin, newest first), or None."""
    on_path = shutil.which("pg_ctl")
    major = lambda folder: int(Path(folder).parent.name) if Path(folder).parent.name.isdigit() else 0  # noqa: E731
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    for folder in ([str(Path(on_path).parent)] if on_path else []) + debian:
        if all(os.access(Path(folder) / tool, os.X_OK) for tool in TOOLS):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the cluster when this process is root: ``postgres`` if it exists, else ``nobody``."""
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class Cluster:
    """``initdb`` + ``pg_ctl start`` in a fresh temporary directory; :meth:`stop` removes it all.

    ``admin(command, input=…)`` runs PostgreSQL client tools as the cluster's superuser, connected
    through the socket."""

    def __init__(self, binaries: Path) -> None:
        self.bin, self.port = binaries, _free_port()
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        if os.geteuid() == 0 and (self.user is None or shutil.which("setpriv") is None):
            raise RuntimeError("running as root with no unprivileged user or no setpriv to run PostgreSQL as")
        # not under pytest's tmp_path: its parents are root's, mode 0700, closed to the postgres user
        self.dir = Path(tempfile.mkdtemp(prefix="rgexp-pg-"))
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.data, self.log = self.dir / "data", self.dir / "server.log"

    def _as_owner(self, argv: list, **kwargs) -> subprocess.CompletedProcess:
        if self.user is not None:
            argv = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups", *argv]
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "PGHOST": str(self.dir), "PGPORT": str(self.port),
               "PGUSER": "postgres", "LC_ALL": "C.UTF-8"}
        # a session of its own: no controlling terminal, so --pwprompt reads the password from stdin
        return subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, timeout=120,
                              start_new_session=True, **kwargs)

    def _check(self, argv: list, **kwargs) -> subprocess.CompletedProcess:
        done = self._as_owner(argv, **kwargs)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}: {done.stderr[-2000:]}{log}")
        return done

    def start(self) -> "Cluster":
        """A new cluster (trust on the socket, passwords over TCP) started and accepting connections."""
        if not self.data.exists():
            self._check([self.bin / "initdb", "-D", self.data, "--username=postgres", "--auth-local=trust",
                         "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-sync", "--no-instructions"])
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._check([self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "120", "start"])
        return self

    def admin(self, command: str, input: str | None = None) -> subprocess.CompletedProcess:
        """A shell line of PostgreSQL client tools (``createuser … && createdb …``) as the superuser
        ``postgres`` (``PGUSER``), with ``input`` on stdin; it must succeed."""
        return self._check(["sh", "-c", command], input=input)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_owner([self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
