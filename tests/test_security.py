"""Security and reliability of the public web app, proved against the real server on 127.0.0.1.

Every request goes where a stranger's would: through Gradio's HTTP API (``/gradio_api/
queue/join`` and its event stream, exactly as the page sends them, or gradio_client),
so no check in the UI helps.  Each fault asserts the one clear message the user gets,
that the server still answers, and that the caller's model and everyone else's are
unchanged.  The server runs with small limits (see ``server``) on a small synthetic
MNIST, so the whole module stays within a couple of minutes on two busy cores.
"""

from __future__ import annotations

import gc
import io
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import support
from support import ROOT, Raw, Refused, free_port, serving, shipped_checkpoint_bytes, sketch_of, wait_until
from trainpad import hookimpl
from trainpad.engine.callbacks import Callback
from trainpad.testing import write_idx_dataset

import httpx  # noqa: E402
from trainpad.web import app  # noqa: E402


#: The server's limits in these tests (environment variables, as an operator sets them).
LIMITS = {
    "TRAINPAD_MAX_TRAINING_RUNS": "1",
    "TRAINPAD_QUEUE_SIZE": "4",
    "TRAINPAD_SESSION_MEMORY_MB": "4",
    "TRAINPAD_MAX_UPLOAD_MB": "1",
    "TRAINPAD_MAX_EPOCHS": "5",
    "TRAINPAD_MAX_BATCH_SIZE": "256",
    "TRAINPAD_MAX_TRAIN_SAMPLES": "2000",
    "TRAINPAD_MAX_EVAL_SAMPLES": "200",
    "TRAINPAD_MAX_IMAGE_PIXELS": str(1000 * 1000),
    "TRAINPAD_MAX_RUN_SECONDS": "120",
    "TRAINPAD_MAX_WAITING_RUNS": "4",
    # Every client here is 127.0.0.1: the per-client caps are tested in test_public_server.py.
    "TRAINPAD_MAX_RUNS_PER_CLIENT": "100",
    "TRAINPAD_MAX_WAITING_PER_CLIENT": "1000",
    "TRAINPAD_MAX_SESSIONS_PER_CLIENT": "1000",
}
#: A tiny run: a second or two.
TINY = {"epochs": 1, "batch_size": 32, "train_samples": 256}
#: A run that takes far longer than any test waits (it is always stopped).
LONG = {"epochs": 5, "batch_size": 1, "train_samples": 2000, "optimizer_sgd_lr": 0.005}  # a small lr: batch 1 never diverges


# -- plugins the test server loads beside the built-in ones -----------------------------


class WitnessCallback(Callback):
    """Records which run trained each batch, and when, from the training thread itself."""

    batches: list[tuple[float, int, bool]] = []
    lock = threading.Lock()

    def on_batch_end(self, run, event, **kwargs):
        with self.lock:
            self.batches.append((time.monotonic(), id(run), run.stop_requested))


def batches_after_stop() -> dict[int, int]:
    """Per run: the batches that ended after it was asked to stop (at most the one in progress)."""
    counts: dict[int, int] = {}
    for _, run, stopping in list(WitnessCallback.batches):
        counts[run] = counts.get(run, 0) + int(stopping)
    return counts


class Witness:
    @hookimpl
    def register_callbacks(self, register):
        register("witness", WitnessCallback, description="records every batch (tests)")


class BrokenTabs:
    """A plugin whose tab hook raises: it loses its tab, the app keeps the others."""

    @hookimpl
    def register_tabs(self, register):
        raise RuntimeError("boom in register_tabs")


class BrokenOptimizers:
    """A plugin whose optimizer hook raises after registering one: it loses it, is reported."""

    @hookimpl
    def register_optimizers(self, register):
        register("half-made", lambda parameters, lr=0.1: torch.optim.SGD(parameters, lr=lr))
        raise RuntimeError("boom in register_optimizers")


def interleaved(batches: list[tuple[float, int, bool]]) -> bool:
    """Whether two runs ever trained at the same time: a run's batches are not all together."""
    finished: set[int] = set()
    current = None
    for _, run, _ in sorted(batches):
        if run != current:
            if run in finished:
                return True
            if current is not None:
                finished.add(current)
            current = run
    return False


# -- the server and a plain-HTTP client ---------------------------------------------------


class Server(support.Server):
    def raw(self) -> Raw:
        return Raw(self.url)

    def answers(self) -> bool:
        return httpx.get(self.url + "config", timeout=30).status_code == 200


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from trainpad.engine.engine import Engine
    from trainpad.engine.plugin_loader import PluginInfo, load_plugins, make_plugin_manager

    data = write_idx_dataset(tmp_path_factory.mktemp("data"), train=2000, test=200)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINPAD_DATA_DIR", str(data))
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        mp.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")  # a closed tab is noticed within a second
        for name, value in LIMITS.items():
            mp.setenv(name, value)
        manager = make_plugin_manager()
        infos = load_plugins(manager, entrypoints=False)
        for plugin, name in ((Witness(), "witness"), (BrokenTabs(), "broken_tabs"), (BrokenOptimizers(), "broken_optimizers")):
            manager.register(plugin, name=name)
            infos[name] = PluginInfo(name)
        engine = Engine(manager, infos).startup()
        with serving(engine) as (url, demo):
            yield Server(url, engine, demo, Path(data))


@pytest.fixture(autouse=True)
def no_run_left_behind(request):
    """After a test that used the server, no run is left training (a failed test must not
    hold the one training slot and fail the ones after it)."""
    yield
    if "server" not in request.fixturenames:
        return
    server = request.getfixturevalue("server")
    store = server.store
    for session in list(store._sessions.values()):
        if session.training and session.run is not None:
            session.run.ask_stop()
    wait_until(lambda: server.app.slots.active == 0, 60, "a run kept training after its test")


# -- files a stranger might send -----------------------------------------------------------


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode in (None, "RGBA", "L") else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A few kB of PNG that declares ``width x height`` pixels (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


class Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def pickle_checkpoint(marker: Path) -> bytes:
    """A checkpoint-looking file whose unpickling would run ``touch marker``."""
    buffer = io.BytesIO()
    torch.save({"format": "trainpad.checkpoint", "version": 1, "state_dict": {}, "evil": Payload(marker)}, buffer)
    return buffer.getvalue()


# -- the victims: a session with its own model, and a bystander --------------------------------


@pytest.fixture(scope="module")
def shipped_ref(server):
    """The shipped checkpoint uploaded once (any session may send the reference)."""
    return server.raw().upload("mnist-cnn.pt", shipped_checkpoint_bytes())


@pytest.fixture(scope="module")
def alice(server, shipped_ref):
    """A session holding a model of its own (uploaded)."""
    alice = server.raw()
    ok, out = alice.call("load_checkpoint", {"path": shipped_ref})
    assert ok and "uploaded: mnist-cnn.pt" in out[0], out
    return alice


@pytest.fixture(scope="module")
def bob(server):
    bob = server.raw()
    ok, _ = bob.call("use_shipped_model")
    assert ok
    return bob


@pytest.fixture
def unchanged(server, alice, bob):
    """Checks, after the test, that the server answers and neither session's model changed."""
    store = server.store
    before = {s.session_hash: (store.get(s.session_hash).model, store.get(s.session_hash).source) for s in (alice, bob)}
    yield
    assert server.answers()
    after = {s.session_hash: (store.get(s.session_hash).model, store.get(s.session_hash).source) for s in (alice, bob)}
    assert after == before, "a refused request changed a session's model"
    ok, out = alice.call("predict", {"picture": {"background": None, "layers": [], "composite": None}})
    assert ok and out[0]["label"] == "Draw a digit"  # and the server still serves predictions


# -- 1. hyperparameters and sizes, sent raw to /train ------------------------------------------

TRAIN_FAULTS = [
    ({"epochs": float("nan")}, r"epochs must be a finite number"),
    ({"epochs": float("inf")}, r"epochs must be a finite number"),
    ({"epochs": 2.5}, r"epochs must be a whole number, got 2\.5"),
    ({"epochs": None}, r"epochs needs a value"),
    ({"epochs": "abc"}, r"epochs must be a number"),
    ({"epochs": True}, r"epochs must be a number"),
    ({"epochs": [1, 2]}, r"epochs must be a number"),
    ({"epochs": 10**6}, r"epochs must be at most 5"),
    ({"epochs": 0}, r"epochs must be at least 1"),
    ({"batch_size": 0}, r"batch_size must be at least 1"),
    ({"batch_size": 10**9}, r"batch_size must be at most 256"),
    ({"train_samples": -5}, r"train_samples must be at least 0"),
    ({"train_samples": 10**9}, r"train_samples must be at most 2000"),
    ({"seed": 2.5}, r"seed must be a whole number"),
    ({"seed": -1}, r"seed must be at least 0"),
    ({"optimizer_sgd_lr": float("nan")}, r"optimizer sgd: lr must be a finite number"),
    ({"optimizer_sgd_lr": 1e20}, r"optimizer sgd: lr must be at most 10, got 1e\+20"),
    ({"optimizer_sgd_lr": None}, r"optimizer sgd: lr needs a value"),
    ({"optimizer_sgd_lr": -1}, r"optimizer sgd: lr must be at least 1e-06"),
    ({"optimizer_sgd_lr": "0.1; rm -rf /"}, r"optimizer sgd: lr must be a number"),
    ({"optimizer_sgd_momentum": float("-inf")}, r"momentum must be a finite number"),
    ({"model_mnist_cnn_width": 2.5}, r"width must be a whole number"),
    ({"dataset": "nope"}, r"(?i)no dataset.*nope|nope.*not|unknown"),
    ({"dataset": 5}, r"Choose the dataset from the list"),
    ({"optimizer": None}, r"Choose the optimizer from the list"),
    ({"schedule": "x"}, r"schedule must be one of onecycle, cosine, constant"),
    ({"device": "cuda:7"}, r"(?i)cuda"),
]


@pytest.mark.parametrize("values, message", TRAIN_FAULTS, ids=[f"{k}={v!r}" for (d, _) in TRAIN_FAULTS for k, v in d.items()])
def test_bad_training_settings_are_refused_with_one_clear_message(server, alice, unchanged, values, message):
    import re

    error = alice.refused("train", {**TINY, **values})
    assert re.search(message, error), error
    assert not server.store.get(alice.session_hash).training


# -- 2. evaluate's sample count --------------------------------------------------------------------

EVAL_FAULTS = [
    (float("nan"), r"samples must be a finite number"),
    (2.5, r"samples must be a whole number, got 2\.5"),
    (None, r"samples needs a value"),
    ("abc", r"samples must be a number"),
    (-3, r"samples must be at least 0"),
    (10**9, r"samples must be at most 200"),
]


@pytest.mark.parametrize("samples, message", EVAL_FAULTS, ids=[repr(s) for s, _ in EVAL_FAULTS])
def test_bad_evaluation_sizes_are_refused(alice, unchanged, samples, message):
    import re

    error = alice.refused("evaluate", {"samples": samples})
    assert error.startswith("Test images:") and re.search(message, error), error


def test_a_whole_number_of_samples_is_evaluated(alice, unchanged):
    ok, out = alice.call("evaluate", {"samples": 50.0})
    assert ok and "of 50 test images wrong" in out[0], out


# -- 3. pictures ------------------------------------------------------------------------------------


def picture_faults(raw: Raw) -> list[tuple[str, dict[str, Any], str]]:
    white = np.full((64, 64), 255, np.uint8)
    picture = np.zeros((64, 64), np.uint8)
    picture[10:50, 30:34] = 255
    truncated = png_bytes(np.random.default_rng(0).integers(0, 255, (300, 300), dtype=np.uint8))[:2000]
    return [
        ("not a picture", raw.upload("digit.png", b"hello, I am text"), r"not a picture trainpad can read"),
        ("a decompression bomb", raw.upload("bomb.png", huge_png(9000, 9000)), r"more than (the )?1,000,000 (pixels|allowed)"),
        ("a truncated PNG", raw.upload("cut.png", truncated), r"damaged or truncated"),
        ("a data URL", {"url": "data:image/png;base64," + "A" * 64, "meta": {"_type": "gradio.FileData"}}, r"not as a data URL"),
        ("a file reference without a path", {"meta": {"_type": "gradio.FileData"}}, r"."),
        ("an SVG", raw.upload("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), r"not a picture trainpad can read"),
        ("a blank picture", raw.upload("white.png", png_bytes(white)), "Draw a digit"),
        ("a 16-bit picture", raw.upload("deep.png", png_bytes((picture.astype(np.uint16) * 257), "I;16")), "ok"),
        ("a 1x1 picture", raw.upload("dot.png", png_bytes(np.zeros((1, 1), np.uint8))), "Draw a digit"),
    ]


def test_pictures_that_are_not_digits_get_a_clear_answer(server, alice, unchanged):
    import re

    for what, reference, expected in picture_faults(alice):
        ok, out = alice.call("predict_picture", {"picture": reference})
        if expected == "Draw a digit":
            assert ok and out[0]["label"] == "Draw a digit", (what, out)
        elif expected == "ok":
            assert ok and out[0]["label"] in [str(i) for i in range(10)], (what, out)
        else:
            assert not ok and isinstance(out, str) and re.search(expected, out), (what, out)
            assert "Traceback" not in out


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the 1200x1200 sketch is meant to be too big
def test_sketches_blank_cleared_or_undone_say_draw_a_digit(server, alice, unchanged):
    white = np.full((800, 800, 4), 255, np.uint8)
    undone = alice.upload("composite.png", png_bytes(white, "RGBA"))  # every stroke undone: all white
    for value in (
        {"background": None, "layers": [], "composite": None},  # never drawn, or cleared
        {"background": undone, "layers": [], "composite": undone},
    ):
        ok, out = alice.call("predict", {"picture": value})
        assert ok and out[0]["label"] == "Draw a digit", out
    # over the limit: refused with the message (Gradio decodes the sketch first, up to twice the limit)
    error = alice.refused("predict", {"picture": {"background": None, "layers": [], "composite": alice.upload("b.png", huge_png(1200, 1200))}})
    assert "1,440,000 pixels, more than the 1,000,000 allowed" in error, error
    # far over it: PIL refuses it from its header before decoding (Image.MAX_IMAGE_PIXELS)
    bomb = alice.upload("bomb.png", huge_png(20000, 20000))
    ok, error = alice.call("predict", {"picture": {"background": bomb, "layers": [bomb], "composite": bomb}})
    assert not ok and "Traceback" not in str(error)
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS == int(LIMITS["TRAINPAD_MAX_IMAGE_PIXELS"])


def test_a_drawn_digit_is_still_predicted(server, alice, unchanged):
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:16] = 255  # a one
    value = sketch_of(digit)
    ref = alice.upload("c.png", png_bytes(value["composite"], "RGBA"))
    ok, out = alice.call("predict", {"picture": {"background": ref, "layers": [ref], "composite": ref}})
    assert ok and out[0]["label"] == "1", out


# -- 4. checkpoints ---------------------------------------------------------------------------------


def nan_weights(payload):
    key = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][key] = torch.full_like(payload["state_dict"][key], float("nan"))


def wrong_shape(payload):
    key = next(k for k, v in payload["state_dict"].items() if v.ndim == 4)
    payload["state_dict"][key] = torch.zeros(3, 1, 5, 5)


def unknown_model(payload):
    payload["spec"]["model"]["name"] = "resnet-9000"


def test_bad_checkpoints_are_refused_and_the_model_is_kept(server, alice, unchanged, tmp_path):
    import re

    marker = tmp_path / "pwned"
    cases = [
        ("crafted pickle", pickle_checkpoint(marker), r"contains Python objects.*never loads"),
        ("NaN weights", shipped_checkpoint_bytes(nan_weights), r"holds NaN or infinite values"),
        ("wrong shape", shipped_checkpoint_bytes(wrong_shape), r"has shape \(3, 1, 5, 5\)"),
        ("unknown model", shipped_checkpoint_bytes(unknown_model), r"needs model 'resnet-9000', which is not registered"),
        ("junk", b"\x00junk" * 100, r"not a trainpad checkpoint"),
        ("a zip bomb-ish empty zip", b"PK\x05\x06" + b"\x00" * 18, r"not a trainpad checkpoint"),
    ]
    for what, content, expected in cases:
        error = alice.refused("load_checkpoint", {"path": alice.upload("model.pt", content)})
        assert re.search(expected, error), (what, error)
    assert not marker.exists(), "the pickled payload ran"
    assert re.search(r"Choose a checkpoint file", alice.refused("load_checkpoint", {"path": None}))
    with pytest.raises(Refused, match="413"):  # over TRAINPAD_MAX_UPLOAD_MB: refused at the upload
        alice.upload("big.pt", b"\x00" * (1024 * 1024 + 10))


def test_files_outside_the_upload_folder_are_never_read(server, alice, unchanged):
    from trainpad.web.shipped_model import PRETRAINED

    # Gradio refuses such a reference before any handler runs (InvalidPathError: "not uploaded
    # by a user"), without a message: a browser never sends one, so only a forger sees it.
    for path in (str(PRETRAINED), str(ROOT / "app.py"), "/etc/passwd", "../../etc/passwd", "http://169.254.169.254/latest/meta-data/"):
        reference = {"path": path, "orig_name": "model.pt", "meta": {"_type": "gradio.FileData"}}
        for api, name in (("load_checkpoint", "path"), ("predict_picture", "picture")):
            ok, error = alice.call(api, {name: reference})
            assert not ok and not error, (api, path, error)  # refused, and nothing about the file told
        sketch = {"background": None, "layers": [], "composite": reference}
        ok, error = alice.call("predict", {"picture": sketch})
        assert not ok and not error, (path, error)
    assert server.store.get(alice.session_hash).source.startswith("uploaded: mnist-cnn.pt")


def test_a_pickled_checkpoint_never_runs_even_with_torch_force_no_weights_only_load(tmp_path):
    """The server runs with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 in its own environment."""
    port = free_port()
    env = {
        **os.environ,
        "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TRAINPAD_LOAD_PLUGINS": "",
    }
    env.pop("GRADIO_SERVER_NAME", None)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "running at" in line:
                break
        url = f"http://127.0.0.1:{port}/"
        remote = Raw(url)
        marker = tmp_path / "pwned"
        error = remote.refused("load_checkpoint", {"path": remote.upload("model.pt", pickle_checkpoint(marker))})
        assert "contains Python objects" in error and "weights_only=False" not in error
        assert not marker.exists(), "the pickled payload ran"
        ok, out = remote.call("load_checkpoint", {"path": remote.upload("model.pt", (ROOT / "plugins/pretrained/mnist-cnn.pt").read_bytes())})
        assert ok and "uploaded: model.pt" in out[0]  # a real checkpoint still loads
        assert httpx.get(url + "monitoring", timeout=30).status_code in (403, 404)
    finally:
        proc.terminate()
        proc.wait(30)


# -- 5. serving: files, monitoring, errors -------------------------------------------------------


def test_the_apps_own_files_and_other_paths_are_not_served(server, alice):
    from trainpad.web.shipped_model import PRETRAINED

    store = server.store
    paths = ["app.py", str(ROOT / "app.py"), str(PRETRAINED), "../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd",
             "%2e%2e/%2e%2e/etc/passwd", "http://169.254.169.254/latest/meta-data/", "//169.254.169.254/latest"]
    for session in store._sessions.values():
        if session._folder is not None:
            paths += [str(p) for p in session._folder.iterdir()]  # a session's checkpoint, by its server path
    for prefix in ("/file=", "/gradio_api/file=", "/gradio_api/proxy=", "/proxy="):
        for path in paths:
            response = httpx.get(server.url.rstrip("/") + prefix + path, timeout=30)
            assert response.status_code in (400, 403, 404), (prefix, path, response.status_code)
            assert b"root:" not in response.content and b"import" not in response.content
    assert server.answers()


def test_monitoring_is_off_and_uploads_are_capped(server):
    for path in ("monitoring", "monitoring/summary", "gradio_api/monitoring", "gradio_api/monitoring/summary"):
        assert httpx.get(server.url + path, timeout=30).status_code in (403, 404), path
    assert server.demo.max_file_size == 1024 * 1024
    assert server.demo.delete_cache == app.DELETE_CACHE  # uploads and returned files are deleted after an hour
    assert server.demo.show_error is False


def test_private_listeners_called_directly_cannot_be_abused(server, alice, unchanged):
    """Listeners hidden from the API docs still answer HTTP: they must be harmless."""
    config = httpx.get(server.url + "config", timeout=30).json()
    private = [d for d in config["dependencies"] if d.get("api_visibility") == "private" and d.get("js") is None and d["inputs"]]
    assert private
    for dep in private:
        raw_data = ["../../etc/passwd"] * len(dep["inputs"])
        try:
            response = alice.http.post(
                alice.url + ("/gradio_api/queue/join" if dep.get("queue", True) is not False else "/gradio_api/run/predict"),
                json={"data": raw_data, "fn_index": dep["id"], "session_hash": alice.session_hash, "event_data": None, "trigger_id": None},
            )
        except httpx.HTTPError:
            continue
        assert response.status_code < 500 or "Traceback" not in response.text


# -- 6. plugins that fail ------------------------------------------------------------------------------


def test_a_plugin_that_raises_loses_only_its_own_contribution(server, alice):
    ok, (listing,) = alice.call("plugins")
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["broken_tabs"]["status"] == "failed" and "boom in register_tabs" in plugins["broken_tabs"]["error"]
    assert plugins["broken_optimizers"]["status"] == "failed"
    assert "half-made" not in server.engine.registry.names("optimizer")
    assert {"sgd", "adamw"} <= set(server.engine.registry.names("optimizer"))
    assert [t.label for t in server.engine.tabs] == ["Predict", "Train", "Evaluate", "Lab", "Plugins"]


# -- 7. training: divergence, time limit, one run per session ---------------------------------------


def test_lr_10_diverges_with_a_message_naming_the_setting(server):
    carol = server.raw()
    ok, out = carol.call("train", {**TINY, "epochs": 2, "optimizer_sgd_lr": 10.0, "schedule": "constant"})
    assert ok, out
    status = out[0]
    assert "Diverged" in status and "learning rate" in status and "Lower the learning rate (lr)" in status, status
    session = server.store.get(carol.session_hash)
    assert session.run.train_end.status == "diverged"
    kept = session.runs.latest_trained().model  # kept in the runs table, used only if it does better
    model = kept.model if kept is not None else None
    if model is not None:  # an epoch finished before the loss exploded: its weights are finite
        assert all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())


def test_a_run_past_the_time_limit_stops_and_keeps_its_model(server, monkeypatch):
    monkeypatch.setenv("TRAINPAD_MAX_RUN_SECONDS", "2")
    dave = server.raw()
    started = time.monotonic()
    ok, out = dave.call("train", LONG)
    assert ok, out
    assert time.monotonic() - started < 60
    assert out[0].startswith("**Time limit reached.**") and "time limit of 2 second(s)" in out[0], out[0]
    session = server.store.get(dave.session_hash)
    assert session.run.train_end.status == "stopped" and session.runs.latest_trained().model is not None


def test_no_model_change_while_the_session_trains(server, shipped_ref):
    WitnessCallback.batches.clear()
    erin = server.raw()
    erin.join("train", LONG)
    erin.listen()  # the run's page stays: its stream stays open while the refused calls come and go
    wait_until(lambda: server.store.get(erin.session_hash).training, 60, "the run never started")
    model = server.store.get(erin.session_hash).model
    second = erin
    try:
        assert "Wait for the run to end" in second.refused("load_checkpoint", {"path": shipped_ref})
        assert "Wait for the run to end" in second.refused("use_shipped_model")
        assert server.store.get(erin.session_hash).model is model
    except BaseException:
        server.store.get(erin.session_hash).run.ask_stop()
        raise
    ok, out = second.call("stop")
    assert ok and out[0].startswith("**Stopped"), out
    wait_until(lambda: not server.store.get(erin.session_hash).training, 60, "Stop did not end the run")
    assert max(batches_after_stop().values(), default=0) <= 1, "Stop let the run train more than one batch"
    wait_until(lambda: server.app.slots.active == 0, 30, "the slot was not released")
    erin.leave()


# -- 8. concurrency --------------------------------------------------------------------------------


def test_two_clients_train_at_once_one_waits_both_finish_with_their_own_models(server):
    WitnessCallback.batches.clear()
    server.app.slots.reset_peak()
    a, b = server.client(), server.client()
    try:
        first = a.submit(**{**TINY, "train_samples": 1000}, api_name="/train")
        wait_until(lambda: server.store.get(a.session_hash).training, 60, "the first run never started")
        second = b.submit(**TINY, api_name="/train")
        seen = set()
        while not second.done() and "IN_QUEUE" not in seen:
            seen.add(second.status().code.name)
            time.sleep(0.05)
        assert "IN_QUEUE" in seen, seen
        assert first.result(timeout=120)[0].startswith("**Done.**")
        assert second.result(timeout=120)[0].startswith("**Done.**")
        sa, sb = server.store.get(a.session_hash), server.store.get(b.session_hash)
        ma, mb = sa.runs.latest_trained().model, sb.runs.latest_trained().model  # each in its own runs table
        assert ma is not None and mb is not None and ma is not mb and ma.model is not mb.model
        assert server.app.slots.peak == 1 and not interleaved(WitnessCallback.batches)
        assert len({run for _, run, _ in WitnessCallback.batches}) == 2
    finally:
        a.close()
        b.close()


def test_cancel_then_resubmit_never_trains_two_runs_at_once(server):
    WitnessCallback.batches.clear()
    server.app.slots.reset_peak()
    client = server.client()
    try:
        session = server.store.get(client.session_hash)
        for _ in range(3):
            before = session.run.record
            job = client.submit(**LONG, api_name="/train")
            # this request's own run trains (not the last one winding down), so that the cancel reaches it
            wait_until(lambda: len(WitnessCallback.batches) > 0 and session.run.record is not before and session.run.phase.value == "training", 60, "no training")
            job.cancel()
        last = client.submit(**TINY, api_name="/train")  # at once
        status = last.result(timeout=120)[0]
        assert status.startswith("**Done.**"), status
        assert server.app.slots.peak == 1, server.app.slots.peak
        assert not interleaved(WitnessCallback.batches), "two runs trained at the same time"
        assert max(1, threading.active_count()) and server.app.slots.active == 0
    finally:
        client.close()


KILLED_CLIENT = """
import sys
from gradio_client import Client
client = Client(sys.argv[1], verbose=False)
print(client.session_hash, flush=True)
job = client.submit(epochs=5, batch_size=1, train_samples=2000, optimizer_sgd_lr=0.005, api_name="/train")
for update in job:
    print("update", flush=True)
"""


def test_a_client_killed_mid_run_ends_its_run_soon(server):
    WitnessCallback.batches.clear()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, server.url], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        session_hash = proc.stdout.readline().strip()
        wait_until(lambda: session_hash in server.store and server.store.get(session_hash).training, 60, "the run never started")
        assert proc.stdout.readline().strip() == "update"
        assert server.store.get(session_hash).training
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    killed = time.monotonic()
    wait_until(lambda: server.app.slots.active == 0, 30, "the killed client's run kept training")
    assert time.monotonic() - killed < 30
    assert max(batches_after_stop().values(), default=0) <= 1, "the run trained on after it was told to stop"
    assert session_hash not in server.store or not server.store.get(session_hash).training


def test_a_full_training_queue_says_so_and_predictions_still_get_in(server, alice):
    runner = server.raw()
    runner.join("train", LONG)
    wait_until(lambda: server.store.get(runner.session_hash).training, 60, "the run never started")
    waiting, refused = [], None
    for _ in range(10):
        other = server.raw()
        try:
            waiting.append((other, other.join("train", TINY)))
        except Refused as exc:
            refused = str(exc)
            break
    try:
        assert refused is not None and "The queue for training runs is full: 4 are waiting" in refused, refused
        assert refused.startswith("429") and len(waiting) == 4
        # the training line is full, and predictions still get in at once
        ok, out = alice.call("predict", {"picture": {"background": None, "layers": [], "composite": None}}, timeout=30)
        assert ok and out[0]["label"] == "Draw a digit", out
    finally:
        for other, event_id in waiting:
            other.http.post(other.url + "/gradio_api/cancel", json={"session_hash": other.session_hash, "fn_index": other.fns["train"], "event_id": event_id})
        runner.call("stop")  # Stop cancels the training event too: it has no completion of its own
        wait_until(lambda: not server.store.get(runner.session_hash).training, 60, "Stop did not end the run")
    wait_until(lambda: server.app.slots.active == 0, 60, "runs left training")
    ok, out = alice.call("predict", {"picture": {"background": None, "layers": [], "composite": None}})
    assert ok


def test_prediction_stays_responsive_while_training(server, alice):
    runner = server.raw()
    runner.join("train", LONG)
    wait_until(lambda: server.store.get(runner.session_hash).training, 60, "the run never started")
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:16] = 255
    ref = alice.upload("c.png", png_bytes(sketch_of(digit)["composite"], "RGBA"))
    times = []
    try:
        for _ in range(10):
            started = time.monotonic()
            ok, out = alice.call("predict", {"picture": {"background": None, "layers": [], "composite": ref}})
            times.append(time.monotonic() - started)
            assert ok and out[0]["label"] == "1"
    finally:
        runner.call("stop")  # Stop cancels the training event too: it has no completion of its own
        wait_until(lambda: not server.store.get(runner.session_hash).training, 60, "Stop did not end the run")
    assert sorted(times)[len(times) // 2] < 2.0, times  # generous: two busy cores


# -- 9. memory: many sessions come and go --------------------------------------------------------


def test_200_sessions_that_make_models_and_leave_give_the_memory_back(server, shipped_ref):
    from concurrent.futures import ThreadPoolExecutor

    store = server.store
    budget = store.budget_bytes
    assert budget == int(LIMITS["TRAINPAD_SESSION_MEMORY_MB"]) * 2**20
    refs, over = [], []

    def visit(raw: Raw) -> None:
        for _ in range(100):  # the queue holds 4 events: a busy moment says "full", try again
            try:
                ok, out = raw.call("load_checkpoint", {"path": shipped_ref})
                break
            except Refused:
                time.sleep(0.05)
        assert ok, out
        session = store.get(raw.session_hash)
        refs.append(weakref.ref(session.model))
        sizes.append(session.nbytes())
        over.append(store.total_bytes() - budget)

    sizes: list[int] = []
    visitors = 3
    with ThreadPoolExecutor(8) as pool:
        for _ in range(4):
            sessions = list(pool.map(lambda _: server.raw().open(), range(50)))
            with ThreadPoolExecutor(visitors) as visits:
                list(visits.map(visit, sessions))
            assert store.total_bytes() <= budget, "over the budget once the loads were done"
            for raw in sessions:
                raw.leave()
            wait_until(lambda: not any(r.session_hash in store for r in sessions), 30, "sessions were not dropped when they left")
    assert len(refs) == 200
    # Each load re-counts after adopting its model, so while others are mid-load the total
    # can pass the budget by the models not yet counted: fewer than one per other visitor.
    assert max(over) < (visitors - 1) * max(sizes), f"{max(over)} bytes over the budget at worst"
    # gone once the last requests' threads have let go of them (at once on a quiet machine)
    alive = lambda: gc.collect() >= 0 and sum(ref() is not None for ref in refs)  # noqa: E731
    wait_until(lambda: alive() == 0, 20, lambda: f"models of sessions that left are still alive: {alive()}")
    assert store.total_bytes() <= budget


# -- 10. fuzzing the picture path (no server) ------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, arrays  # noqa: E402

DTYPES = st.sampled_from(["uint8", "uint16", "int8", "int32", "int64", "float16", "float32", "float64", "bool", "complex64"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["composite", "background", "layers", "url", "meta", "x"]), children, max_size=4),
    max_leaves=12,
)


def prepared_or_refused(value: Any) -> None:
    """The picture path either gives a finite (1, 1, 28, 28) tensor or refuses with its own errors."""
    from trainpad.engine.pictures import BlankImage, ImageError, prepare
    from trainpad.web.uploads import from_upload

    try:
        prepared = prepare(from_upload(value), input_shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), ink="centre")
    except (ImageError, BlankImage) as exc:
        assert str(exc)
        return
    assert tuple(prepared.tensor.shape) == (1, 1, 28, 28) and torch.isfinite(prepared.tensor).all()
    assert prepared.seen.dtype == np.uint8 and prepared.seen.shape == (28, 28)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(DTYPES, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=40)))
def test_any_array_is_prepared_or_refused_clearly(array):
    prepared_or_refused(array)
    prepared_or_refused({"background": None, "layers": [], "composite": array})


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_any_json_sent_as_a_picture_is_refused_clearly_or_blank(value):
    prepared_or_refused(value)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["/etc/passwd", str(ROOT / "app.py"), "../../etc/passwd", "", "http://169.254.169.254/"]), st.booleans())
def test_a_file_reference_outside_the_upload_folder_is_never_opened(path, as_sketch):
    from trainpad.engine.pictures import ImageError
    from trainpad.web.uploads import from_upload

    reference = {"path": path, "meta": {"_type": "gradio.FileData"}}
    with pytest.raises(ImageError):
        from_upload({"composite": reference} if as_sketch else reference)
