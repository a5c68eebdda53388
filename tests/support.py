"""Helpers shared by the test modules (import them with ``from support import ...``;
``conftest`` is not importable by name, since tests/browser has one too)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
#: Real MNIST beside the project (CI and developers have it), or TRAINPAD_DATA_DIR.
SHARED_DATA = ROOT.parent / "shared" / "data"


def real_mnist_dir() -> Path | None:
    for candidate in (os.environ.get("TRAINPAD_DATA_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


def python_json(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run ``code`` in a fresh interpreter at the project root (for what only a new process
    shows: imports, start-up settings); it prints JSON as its last line, returned here."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ if env is None else env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: The test plugin the browser tests install into their app: ``tests/plugins/<module>.py``,
#: as the entry point ``name`` of the distribution ``dist``.
TEST_PLUGIN = {"name": "extras", "module": "trainpad_test_extras", "dist": "trainpad-test-extras", "version": "0.1"}


def install_test_plugin(site: Path) -> Path:
    """Install :data:`TEST_PLUGIN` into the folder ``site`` the way pip would: the module and a
    ``.dist-info`` whose ``entry_points.txt`` names it in the group ``trainpad``.  Put ``site``
    on ``PYTHONPATH`` and name the plugin in ``TRAINPAD_LOAD_PLUGINS``.  Returns ``site``."""
    import shutil

    plugin = TEST_PLUGIN
    info = site / f"{plugin['module']}-{plugin['version']}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {plugin['dist']}\nVersion: {plugin['version']}\n")
    (info / "entry_points.txt").write_text(f"[trainpad]\n{plugin['name']} = {plugin['module']}\n")
    shutil.copy(ROOT / "tests" / "plugins" / f"{plugin['module']}.py", site / f"{plugin['module']}.py")
    return site


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python app.py --port N`` (or another command serving the app on ``port``) in its own
    process group, with its output in ``log_path``.  :meth:`wait_ready` waits until it answers
    HTTP; :meth:`stop` ends it and everything it started."""

    def __init__(self, argv: list[Any], *, port: int, cwd: Path, env: dict[str, str], log_path: Path) -> None:
        import subprocess

        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [str(a) for a in argv], cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, and only it
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 180) -> None:
        """Until the app answers ``GET /`` with 200; ``RuntimeError`` with its log if it exits or takes too long."""
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode} before answering:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the app did not answer at {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the process group, then kill it if it lingers."""
        import signal
        import subprocess

        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=15)
            else:
                # the leader is gone; anything it started in its group goes too
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        except ProcessLookupError:
            pass
        finally:
            self._log.close()


@dataclass
class Server:
    """The app served in this process by :func:`serving`, and what it was built from."""

    url: str
    engine: Any
    demo: Any
    data: Path  #: the data folder it reads

    @property
    def store(self) -> Any:
        """The server's sessions (a :class:`trainpad.web.sessions.SessionStore`)."""
        from trainpad.web.sessions import store_for

        return store_for(self.engine)

    def client(self) -> Any:
        """A new browser-like session through the HTTP API (a ``gradio_client.Client``)."""
        from gradio_client import Client

        return Client(self.url, verbose=False, download_files=False)


@contextlib.contextmanager
def serving(engine: Any) -> Iterator[tuple[str, Any]]:
    """The real app for ``engine`` on 127.0.0.1, in this process (as Gradio's own tests
    run theirs): yields ``(url, demo)`` and closes the server afterwards."""
    from trainpad.web import app

    demo = app.build_app(engine)
    _, url, _ = app.serve(demo, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, demo
    finally:
        demo.close()


def sketch_of(digit, size: int = 800):
    """A 28x28 light-on-dark digit as Gradio's Sketchpad sends a drawing of it.

    ``{"background", "layers", "composite"}``, each ``(size, size, 4)`` uint8: an opaque
    white background, one layer with alpha 255 where drawn, and the composite with
    black strokes on white (no anti-aliasing), the digit filling about 70% of the pad.
    """
    import numpy as np
    from PIL import Image

    side = int(size * 0.7)
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    ink = np.zeros((size, size), dtype=bool)
    top = (size - side) // 2
    ink[top : top + side, top : top + side] = big > 100
    background = np.full((size, size, 4), 255, dtype=np.uint8)
    layer = np.zeros((size, size, 4), dtype=np.uint8)
    layer[ink] = (0, 0, 0, 255)
    composite = background.copy()
    composite[ink] = (0, 0, 0, 255)
    return {"background": background, "layers": [layer], "composite": composite}


# -- a dataset mirror on 127.0.0.1 ---------------------------------------------------------------


class Mirror:
    """A dataset mirror on 127.0.0.1 for the download tests, slow or broken as a far-away
    server can be: serves ``folder`` at :attr:`url` at about ``bytes_per_second``; while
    :attr:`broken` is set, answers every request 503.  Use it as a context manager."""

    def __init__(self, folder: Path, *, bytes_per_second: float = 500_000) -> None:
        self.folder = Path(folder)
        self.bytes_per_second = bytes_per_second
        self.broken = False
        self.requests: list[str] = []
        mirror = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                mirror.requests.append(self.path)
                if mirror.broken:
                    self.send_error(503, "mirror down")
                    return
                path = mirror.folder / self.path.lstrip("/").split("?")[0]
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                chunk = 32 * 1024
                try:
                    for start in range(0, len(data), chunk):
                        self.wfile.write(data[start : start + chunk])
                        self.wfile.flush()
                        time.sleep(chunk / mirror.bytes_per_second)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(self.folder)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def md5(self) -> dict[str, str]:
        """Each served file's MD5, as torchvision checks it."""
        return {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in self.folder.iterdir() if path.is_file()}

    def total_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.folder.iterdir() if path.is_file())

    def __enter__(self) -> "Mirror":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
