"""Fixtures shared by several test modules (pytest finds them here; no test module imports another's).

- ``torch_home``: an empty temporary TORCH_HOME (nothing reads or writes the user's cache).
- ``server``: a local HTTP server on 127.0.0.1 whose routes a test fills with (behaviour, body).
- ``mirror``: that server as the weights base URL; ``mirror(name, body, behaviour)`` publishes a file
  under torchvision's own file name, checked against the body's hash.
- ``offline``: an empty TORCH_HOME and a weights base URL nothing listens on: a classroom laptop
  with no Wi-Fi (only the bundled EfficientNet-Lite checkpoints).
"""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time

import pytest

from zoo.inference import weights as W


@pytest.fixture(autouse=True)
def _background_work_ends_with_its_test():
    """A model's first start measures its backends in a background thread: it finishes inside the test that
    started it, not while a later test patches timings or removes the cache folder it writes to."""
    yield
    from zoo.inference import fast_cpu

    fast_cpu.finish_background()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[str, bytes]]  # path -> (behaviour, body)
    hits: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        behaviour, body = self.server.routes.get(self.path, ("404", b""))
        if behaviour == "404":
            self.send_error(404, "Not Found")
            return
        if behaviour == "silent":  # accepts the connection and the request, never answers
            time.sleep(1.5)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if behaviour != "unsized":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "trickle":  # one byte every 50 ms: never silent long enough for a socket timeout
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.05)
            return
        if behaviour == "unsized":
            self.wfile.write(body)
            self.close_connection = True
            return
        if behaviour == "good":
            self.wfile.write(body)
        elif behaviour == "drop":  # promise the whole file, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif behaviour == "stall":  # headers, then nothing for longer than the client waits
            self.wfile.flush()
            time.sleep(1.5)


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.routes, srv.hits = {}, []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def mirror(server, monkeypatch, torch_home):
    """The local server as the weights base URL; returns a function that publishes a file."""
    monkeypatch.setenv(W.BASE_URL_ENV, f"http://127.0.0.1:{server.server_port}/models/")

    def publish(name: str, body: bytes, behaviour: str = "good", *, sha256_prefix: str | None = None) -> W.WeightsSpec:
        # Under torchvision's own file name (torchvision's builder reads it from torch.hub's cache),
        # checked against this body's hash.
        digest = hashlib.sha256(body).hexdigest()
        prefix = sha256_prefix or digest[:8]
        filename = W.spec(name).filename
        server.routes[f"/models/{filename}"] = (behaviour, body)
        spec = W.WeightsSpec(name, filename, prefix, None, len(body))
        monkeypatch.setitem(W.SPEC_OVERRIDES, name, spec)
        return spec

    return publish


@pytest.fixture
def offline(torch_home, monkeypatch):
    with socket.socket() as s:  # a local port nothing listens on: "no network", instantly
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(W.BASE_URL_ENV, f"http://127.0.0.1:{port}/")
    monkeypatch.delenv("ZOO_DEVICE", raising=False)
