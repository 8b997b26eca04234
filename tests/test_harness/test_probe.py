"""The tracking-server probe against real sockets on 127.0.0.1: each way a server can be missing
gives its own one-phrase reason within the timeout; a server that answers passes."""

import http.server
import socket
import threading

import pytest

from rgexp.tracking.probe import unreachable


def _serve(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status, expected", [(200, None), (401, "authentication required"),
                                              (403, "authentication required"), (500, "HTTP 500")])
def test_a_server_that_answers(status, expected):
    server = _serve(status)
    try:
        reason = unreachable.__wrapped__(f"http://127.0.0.1:{server.server_port}", 5.0)
    finally:
        server.shutdown()
    assert reason is None if expected is None else expected in reason


def test_nothing_listening_and_a_server_that_never_answers():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert "connection refused" in unreachable.__wrapped__(f"http://127.0.0.1:{port}", 5.0)
    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        # the socket's own timeout ends the wait (no clock read here: a loaded machine cannot fail it)
        reason = unreachable.__wrapped__(f"http://127.0.0.1:{silent.getsockname()[1]}", 1.0)
        assert "timed out" in reason
    assert unreachable("sqlite:////tmp/x.db") is None  # embedded stores need no server
