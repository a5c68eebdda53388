"""Helpers shared by the test modules (import them with ``from support import ...``;
``conftest`` is not importable by name, since tests/browser has one too)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import httpx

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


def install_test_plugin(site: Path, plugin: dict[str, str] = TEST_PLUGIN) -> Path:
    """Install ``plugin`` (:data:`TEST_PLUGIN` by default; one of ``tests/plugins``) into the
    folder ``site`` the way pip would: the module and a ``.dist-info`` whose
    ``entry_points.txt`` names it in the group ``trainpad``.  Put ``site`` on ``PYTHONPATH``
    and name the plugin in ``TRAINPAD_LOAD_PLUGINS``.  Returns ``site``."""
    import shutil

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
    def app(self) -> Any:
        """The app's services (a :class:`trainpad.web.services.App`): its store, slots..."""
        return self.demo.trainpad_app

    @property
    def store(self) -> Any:
        """The server's sessions (a :class:`trainpad.web.sessions.SessionStore`)."""
        return self.app.store

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
        demo.trainpad_app.close()  # its job executor, and every session's files


def shipped_checkpoint_bytes(change: Any = None) -> bytes:
    """The shipped checkpoint's payload, optionally changed (``change(payload)``), saved as
    ``torch.save`` saves it: the start of every crafted checkpoint the tests send."""
    import io

    import torch

    from trainpad.web.shipped_model import PRETRAINED

    payload = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    if change is not None:
        change(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


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


# -- a browser session in plain HTTP ---------------------------------------------------------

#: Each server's endpoints: ``url -> (fn index by api name, parameter names, defaults)``.
API: dict[str, tuple[dict, dict, dict]] = {}


class Refused(Exception):
    """The server refused to queue an event (HTTP error on join)."""


class Raw:
    """A browser session spoken to in plain HTTP, as the page speaks: queue/join, then the
    event stream.  Values go as JSON as written (``NaN`` and ``Infinity`` included).

    :param client: sent as ``X-Forwarded-For``, so that a server trusting one proxy hop
        (``TRAINPAD_FORWARDED_HOPS=1``) takes this session for that client.
    :param headers: more headers for every request (a Space's proxy adds ``X-IP-Token``).
    """

    def __init__(self, url: str, session_hash: str | None = None, *, client: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.session_hash = session_hash or uuid.uuid4().hex[:12]
        self.client = client
        headers = {**({"x-forwarded-for": client} if client else {}), **(headers or {})}
        self.http = httpx.Client(timeout=120, verify=False, headers=headers)  # loopback HTTP: no certificates to load
        if self.url not in API:
            config = self.http.get(self.url + "/config").json()
            endpoints = self.http.get(self.url + "/gradio_api/info").json()["named_endpoints"]
            API[self.url] = (
                {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")},
                {name: [p["parameter_name"] for p in info["parameters"]] for name, info in endpoints.items()},
                {name: [p.get("parameter_default") for p in info["parameters"]] for name, info in endpoints.items()},
            )
        self.fns, self.params, self.defaults = API[self.url]
        self._heartbeat: Any = None
        self.completed: dict[str, dict[str, Any]] = {}
        #: the last update each event of this session sent while it ran (kept while listening)
        self.updates: dict[str, list[Any]] = {}

    def data(self, api_name: str, values: dict[str, Any]) -> list[Any]:
        names, defaults = self.params["/" + api_name], self.defaults["/" + api_name]
        unknown = set(values) - set(names)
        assert not unknown, f"/{api_name} has no parameter {unknown}"
        return [values.get(name, default) for name, default in zip(names, defaults)]

    def join(self, api_name: str, values: dict[str, Any] | None = None, *, data: list[Any] | None = None) -> str:
        body = {
            "data": data if data is not None else self.data(api_name, values or {}),
            "event_data": None,
            "fn_index": self.fns[api_name],
            "trigger_id": None,
            "session_hash": self.session_hash,
        }
        for attempt in range(3):  # uvicorn closes idle keep-alive connections after 5 s: a reused one may be gone
            try:
                response = self.http.post(
                    self.url + "/gradio_api/queue/join",
                    content=json.dumps(body, allow_nan=True),
                    headers={"content-type": "application/json"},
                )
                break
            except httpx.RemoteProtocolError:
                if attempt == 2:
                    raise
        if response.status_code != 200:
            raise Refused(f"{response.status_code}: {response.text}")
        return response.json()["event_id"]

    def listen(self) -> "Raw":
        """Keep this session's event stream open in the background, as a page does while it has
        events going: closing the stream ends every event of the session (Gradio's rule), so a
        run joined here lives on while :meth:`call` waits for other events."""
        self._listening = True

        def read() -> None:
            while self._listening:
                try:
                    with self.http.stream("GET", self.url + "/gradio_api/queue/data", params={"session_hash": self.session_hash}, timeout=None) as stream:
                        if stream.status_code != 200:  # nothing pending for this session (yet): look again in a while
                            time.sleep(0.5)
                            continue
                        for line in stream.iter_lines():
                            if line.startswith("data:"):
                                message = json.loads(line[5:])
                                if message.get("msg") in ("process_completed", "unexpected_error"):
                                    self.completed[message.get("event_id")] = message
                                elif message.get("msg") == "process_generating":
                                    self._update(message.get("event_id"), (message.get("output") or {}).get("data") or [])
                            if not self._listening:
                                return
                except Exception:  # the stream ends when nothing is pending: open it again
                    pass
                time.sleep(0.05)

        threading.Thread(target=read, daemon=True).start()
        return self

    def _update(self, event_id: str, data: list[Any]) -> None:
        """An event's first update holds its outputs; the next ones, each output's changes (Gradio's diffs)."""
        from gradio_client.utils import apply_diff

        shown = self.updates.get(event_id)
        self.updates[event_id] = data if shown is None else [apply_diff(old, diff) for old, diff in zip(shown, data)]

    def wait_update(self, event_id: str, test: Any, timeout: float = 120) -> list[Any]:
        """The event's outputs once ``test(outputs)`` holds, as its updates arrive (while listening)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.updates.get(event_id)
            if data is not None and test(data):
                return data
            if event_id in self.completed:
                raise AssertionError(f"event {event_id} ended first: {str(self.completed[event_id])[:300]}")
            time.sleep(0.05)
        raise TimeoutError(f"event {event_id}: no update passed the test in {timeout} s (last: {str(self.updates.get(event_id))[:300]})")

    def wait(self, event_id: str, timeout: float = 120) -> dict[str, Any]:
        """The event's ``process_completed`` message (one stream per session, as in a page:
        completions of this session's other events are kept for their own ``wait``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if event_id in self.completed:
                return self.completed.pop(event_id)
            if getattr(self, "_listening", False):
                time.sleep(0.05)
                continue
            try:
                with self.http.stream("GET", self.url + "/gradio_api/queue/data", params={"session_hash": self.session_hash}, timeout=timeout) as stream:
                    if stream.status_code == 404:  # Gradio holds no messages for this session: they were dropped
                        raise AssertionError(f"event {event_id}: the server has no event stream for session {self.session_hash} (its messages are gone)")
                    for line in stream.iter_lines():
                        if not line.startswith("data:"):
                            continue
                        message = json.loads(line[5:])
                        if message.get("msg") in ("process_completed", "unexpected_error"):
                            self.completed[message.get("event_id")] = message
                        if event_id in self.completed:
                            return self.completed.pop(event_id)
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"event {event_id} did not complete in {timeout} s")

    def call(self, api_name: str, values: dict[str, Any] | None = None, *, data: list[Any] | None = None, timeout: float = 120) -> tuple[bool, Any]:
        """``(True, outputs)`` or ``(False, the error message shown to the user)``."""
        message = self.wait(self.join(api_name, values, data=data), timeout)
        output = message.get("output") or {}
        if message.get("success"):
            return True, output.get("data")
        return False, output.get("error") if "error" in output else message.get("message")

    def refused(self, api_name: str, values: dict[str, Any] | None = None, **kwargs: Any) -> str:
        ok, result = self.call(api_name, values, **kwargs)
        assert not ok, f"/{api_name} {values} was accepted: {str(result)[:200]}"
        assert isinstance(result, str) and result, f"/{api_name} {values}: an empty error"
        assert "Traceback" not in result and 'File "' not in result, result
        return result

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        """Upload a file as the page does; returns the file reference to send."""
        response = self.http.post(self.url + "/gradio_api/upload", files={"files": (name, content)})
        if response.status_code != 200:
            raise Refused(f"{response.status_code}: {response.text}")
        return {"path": response.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    # a browser tab's lifetime: the heartbeat connection, closed when the tab closes

    def open(self) -> "Raw":
        ready = threading.Event()

        def beat() -> None:
            headers = {"x-forwarded-for": self.client} if self.client else {}
            with httpx.Client(timeout=None, verify=False, headers=headers) as client:
                with client.stream("GET", f"{self.url}/gradio_api/heartbeat/{self.session_hash}") as stream:
                    self._heartbeat = stream
                    for _ in stream.iter_lines():
                        ready.set()

        self._thread = threading.Thread(target=self._beat_safely(beat), daemon=True)
        self._thread.start()
        assert ready.wait(30), "no heartbeat"
        return self

    @staticmethod
    def _beat_safely(fn):
        def run() -> None:
            try:
                fn()
            except Exception:
                pass

        return run

    def leave(self) -> None:
        """Close the tab: the heartbeat connection (and the event stream, if listening) drops."""
        self._listening = False
        if self._heartbeat is not None:
            self._heartbeat.close()
        self.http.close()


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


def untrained_model(engine: Any, dataset: str, model: str) -> Any:
    """A :class:`~trainpad.engine.trained_model.TrainedModel` of ``model`` for ``dataset``, as
    built (seed 0), never trained: what publishing and the handlers need of a model, in milliseconds."""
    import torch

    from trainpad.engine.trained_model import TrainedModel

    component = engine.component("dataset", dataset)
    meta = engine.dataset_meta(component)
    torch.manual_seed(0)
    built = engine.build_model(model, {}, input_shape=meta["input_shape"], num_classes=len(component.meta["class_names"]))
    spec = {"dataset": {"name": dataset, "params": {}}, "model": {"name": model, "params": {}}}
    output = engine.component("model", model).meta.get("output", "logits")
    return TrainedModel(built, spec, list(component.meta["class_names"]), output, meta)


def holds(condition: Any, seconds: float, message: str | Callable[[], str] = "condition", *, interval: float = 0.05) -> None:
    """Check ``condition()`` again and again for ``seconds`` s and fail the first time it is
    false: that nothing happens (no second run begins, nothing is sent) is watched the whole
    time, not read once after a sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            said = message() if callable(message) else message
            raise AssertionError(f"no longer true: {said}")
        time.sleep(interval)


def wait_until(condition: Any, timeout: float, message: str | Callable[[], str] = "condition", *, interval: float = 0.05) -> Any:
    """Poll ``condition()`` until it returns something truthy, and return that; fail after
    ``timeout`` s saying what was awaited (``message``; a callable is asked then, to say what
    it sees at that moment)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            said = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {said}")
        time.sleep(interval)
