"""Is the tracking server there? A probe with a short timeout before any work, so a server that is
down costs seconds and one line instead of minutes of MLflow's HTTP retries and a traceback."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

__all__ = ["unreachable", "probe"]

PROBE_TIMEOUT = 5.0  # seconds: a healthy server answers /health in milliseconds


_ANSWERED: set[str] = set()  # servers that answered in this process: a sweep checks once


def unreachable(uri: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when ``uri`` is not an HTTP(S) server or it answers; otherwise the reason, one phrase:
    connection refused, name not resolved, timed out, HTTP status, authentication required.

    An answer is remembered for the process; a failure is not (the server may be back next time:
    a resume after an outage, in the same process, must see it)."""
    if uri in _ANSWERED:
        return None
    problem = probe(uri, timeout)
    if problem is None:
        _ANSWERED.add(uri)
    return problem


def probe(uri: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """:func:`unreachable` without the memory: ask the server now."""
    if not uri.startswith(("http://", "https://")):
        return None
    url = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            return f"authentication required (HTTP {err.code}; set MLFLOW_TRACKING_USERNAME/PASSWORD or _TOKEN)"
        return f"HTTP {err.code} {err.reason} from {url}"
    except urllib.error.URLError as err:
        return _reason(err.reason, timeout)
    except (TimeoutError, socket.timeout):
        return f"no answer within {timeout:g} s (timed out)"
    except OSError as err:
        return _reason(err, timeout)


def _reason(err: object, timeout: float) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (nothing is listening there)"
    if isinstance(err, socket.gaierror):
        return "the host name does not resolve (DNS)"
    if isinstance(err, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s (timed out)"
    return str(err)


unreachable.__wrapped__ = probe  # (the name tests used when this was an lru_cache)
