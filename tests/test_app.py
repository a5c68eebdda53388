"""The real web app on 127.0.0.1, driven through its HTTP API with gradio_client.

One server serves the module (started in-process, as Gradio's own tests do).  It reads
real MNIST from ``../shared/data`` when it is there, else a small synthetic set in
MNIST's format; the tests that need real digits skip without them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from support import ROOT, Server, free_port, real_mnist_dir, serving, sketch_of
from trainpad.testing import write_idx_dataset

from trainpad.web import app, fair_queue  # noqa: E402

from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from trainpad.engine.engine import Engine

    data = real_mnist_dir() or write_idx_dataset(tmp_path_factory.mktemp("data"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINPAD_DATA_DIR", str(data))
        mp.setenv("TRAINPAD_MAX_TRAINING_RUNS", "1")
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        engine = Engine.load(entrypoints=False)
        with serving(engine) as (url, demo):
            yield Server(url, engine, demo, Path(data))


@pytest.fixture(scope="module")
def alice(server):
    client = server.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def bob(server):
    client = server.client()
    yield client
    client.close()


def sketch_files(digit: np.ndarray, folder: Path, name: str) -> dict[str, Any]:
    """A digit drawn on the pad, as the files gradio_client uploads."""
    value = sketch_of(digit)
    paths = {}
    for key, picture in (("background", value["background"]), ("layer", value["layers"][0]), ("composite", value["composite"])):
        paths[key] = folder / f"{name}-{key}.png"
        Image.fromarray(picture, "RGBA").save(paths[key])
    return {
        "background": handle_file(paths["background"]),
        "layers": [handle_file(paths["layer"])],
        "composite": handle_file(paths["composite"]),
    }


def top_label(label: dict[str, Any]) -> str:
    return label["label"]


def train(client: Client, **settings: Any) -> Any:
    """Submit a training run; returns the job (iterate it for the live updates)."""
    return client.submit(**{"epochs": 1, "batch_size": 32, "train_samples": 300, **settings}, api_name="/train")


# -- serving ------------------------------------------------------------------------------


def test_the_page_is_served_with_safe_defaults(server):
    assert urllib.request.urlopen(server.url, timeout=30).status == 200
    config = json.loads(urllib.request.urlopen(server.url + "config", timeout=30).read())
    english = config["i18n_translations"]["en"]  # the page's texts are keys the browser translates (trainpad.web.i18n)
    tabs = [json.loads(c["props"]["label"][len("__i18n__"):])["key"] for c in config["components"] if c["type"] in ("tab", "tabitem")]
    assert config["title"] == "trainpad" and [english[key] for key in tabs] == ["Predict", "Train", "Evaluate", "Lab", "Plugins"]
    assert config["i18n_translations"]["ko"][tabs[1]] == "학습"
    for path in ("monitoring", "monitoring/summary"):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(server.url + path, timeout=30)
    assert server.demo.max_file_size == 20 * 1024 * 1024
    assert server.demo.delete_cache == app.DELETE_CACHE
    assert server.demo._queue.max_size is None  # one size for all kinds let training fill it: trainpad.web.fair_queue
    fns = {fn.api_name: fn for fn in server.demo.fns.values()}
    assert (fns["train"].concurrency_id, fns["train"].concurrency_limit) == ("training", 1)  # TRAINPAD_MAX_TRAINING_RUNS
    assert fns["predict"].concurrency_limit == 4 and (fns["stop"].concurrency_id, fns["stop"].concurrency_limit) == ("stop", "default")
    # every queued event has a limit, and the workers outnumber them all at their limits together
    queued = [fn for fn in server.demo.fns.values() if fn.fn is not None and fn.queue is not False]
    assert all(fn.concurrency_limit is not None for fn in queued)
    assert server.demo.max_threads == fair_queue.worker_threads(server.demo) >= 40


def test_the_api_lists_every_components_hyperparameters(alice):
    api = alice.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/train", "/stop", "/evaluate", "/predict", "/predict_picture", "/load_checkpoint", "/plugins"} <= set(api)
    names = {p["parameter_name"] for p in api["/train"]["parameters"]}
    assert {"dataset", "model", "optimizer", "loss", "epochs", "batch_size", "seed", "device", "train_samples", "schedule"} <= names
    assert {"optimizer_sgd_lr", "optimizer_adamw_lr", "model_mnist_cnn_width", "model_mnist_cnn_batch_norm"} <= names
    assert all(p["parameter_has_default"] for p in api["/train"]["parameters"])


def test_the_plugins_tab_lists_plugins_and_their_components(alice):
    listing = alice.predict(api_name="/plugins")
    names = {p["name"]: p for p in listing["plugins"]}
    assert {"train_tab", "evaluate_tab", "predict_tab", "plugins_tab", "mnist", "mnist_cnn", "sgd", "adamw", "nll"} <= set(names)
    assert all(p["status"] == "loaded" and p["version"] for p in names.values())
    assert names["mnist_cnn"]["components"][0]["name"] == "mnist-cnn" and names["predict_tab"]["tabs"] == ["Predict"]
    assert listing["failed"] == []


# -- predicting ---------------------------------------------------------------------------


def test_drawn_real_digits_are_recognised_by_the_shipped_model(alice, real_digits, tmp_path):
    images, labels = real_digits
    right = 0
    for i in range(10):
        label, seen, note, inside = alice.predict(sketch_files(images[i], tmp_path, f"d{i}"), api_name="/predict")
        right += top_label(label) == str(labels[i])
        assert len(label["confidences"]) == 10  # every class
        assert inside.count('data-tp="maps"') == 3 and 'data-tp="saliency"' in inside
    assert right >= 9, f"{right} of 10 drawn digits recognised"
    assert "shipped" in note
    with Image.open(seen["path"] if isinstance(seen, dict) else seen) as picture:
        assert picture.size == (224, 224)  # the 28x28 the model saw, enlarged


def test_a_blank_pad_says_draw_a_digit(alice):
    label, seen, _, _ = alice.predict({"background": None, "layers": [], "composite": None}, api_name="/predict")
    assert label["label"] == "Draw a digit" and not label.get("confidences") and seen is None


def test_an_uploaded_picture_is_recognised(alice, real_digits, tmp_path):
    images, labels = real_digits
    path = tmp_path / "digit.png"
    Image.fromarray(images[20]).resize((140, 140)).save(path)  # light on dark, any size
    label, _, _, _ = alice.predict(handle_file(path), api_name="/predict_picture")
    assert top_label(label) == str(labels[20])


# -- training, evaluating, sessions --------------------------------------------------------


@pytest.fixture(scope="module")
def alice_trained(alice):
    """Alice trains a small model, then uses it (it does worse than the shipped model, so
    it is not used by itself); returns every output the job streamed."""
    job = train(alice, optimizer_sgd_lr=0.05)
    updates = [out for out in job]
    final = job.result()
    assert job.status().code.name == "FINISHED"
    used = alice.predict("1", api_name="/use_run")
    assert "trained here" in used[6], used[6]
    return updates, final


def test_training_streams_live_curves_and_ends_with_a_checkpoint(alice_trained, server):
    updates, (status, loss, accuracy, metrics, download, log, current, loop, *runs) = alice_trained
    assert len(updates) >= 3  # starting, steps..., done
    assert "optimizer = torch.optim.SGD" in loop and "data-shows" in loop  # the loop view, with the run's last step
    assert status.startswith("**Done.**") and "Test accuracy" in metrics
    # 300 samples do worse than the shipped model: it stays in use until Alice picks run 1
    assert "below the 99.39% of the model in use (shipped), which stays in use" in status and "(shipped)" in current
    assert "training mnist-cnn on mnist (300 samples) with sgd (lr 0.05)" in log
    assert loss["y_lim"][0] == 0 and loss["x_lim"] == [0.0, 1.0]  # fixed axes: every label fits
    loss, accuracy = loss["value"], accuracy["value"]
    rows = loss["data"]
    tests = [r[0] for r in rows if r[2] == "test"]
    assert {row[2] for row in rows} == {"train", "test"} and tests[0] == 0.0 and tests[-1] == 1.0 and tests == sorted(tests)
    assert all(0 <= row[1] <= 100 for row in accuracy["data"])
    table = runs[0]
    assert [row[0] for row in table["data"]] == ["run 1", "shipped"]
    checkpoint = download["value"] if isinstance(download, dict) else download
    checkpoint = checkpoint["path"] if isinstance(checkpoint, dict) else checkpoint
    from trainpad.engine.checkpoint import load_checkpoint

    assert load_checkpoint(server.engine.registry, checkpoint).epochs == 1


def test_evaluate_shows_the_sessions_model(alice, alice_trained):
    summary, confusion, per_class, mistakes, answers = alice.predict(samples=1000, api_name="/evaluate")
    assert len(answers) == 24 and all(item["caption"][0] in "✓✗" for item in answers)
    assert summary.startswith("### Accuracy") and "of 1,000 test images wrong" in summary.replace("128", "1,000")
    assert "<table" in confusion and per_class.count("tp-bar") >= 10
    assert 0 < len(mistakes) <= 24 and "→" in mistakes[0]["caption"]


def test_sessions_never_see_each_others_model(alice, bob, alice_trained, server, tmp_path):
    blank = {"background": None, "layers": [], "composite": None}
    assert "trained here" in alice.predict(blank, api_name="/predict")[2]
    assert "(shipped)" in bob.predict(blank, api_name="/predict")[2]

    store = server.store
    a, b = store.get(alice.session_hash), store.get(bob.session_hash)
    assert a.model is not b.model and a.source == "run 1, trained here" and b.shared


def test_a_checkpoint_can_be_uploaded_into_another_session(bob, alice_trained, tmp_path):
    download = alice_trained[1][4]
    checkpoint = download["value"] if isinstance(download, dict) else download
    checkpoint = checkpoint["path"] if isinstance(checkpoint, dict) else checkpoint
    # one epoch does worse than the shipped model: added to bob's runs, beside it (the rule of runs)
    described = bob.predict(handle_file(checkpoint), api_name="/load_checkpoint")
    assert "(shipped)" in described
    used = bob.predict("1", api_name="/use_run")
    assert "Run 1 is in use" in used[0]
    assert "uploaded: mnist-cnn-mnist-" in used[6] and ", 1 epoch," in used[6]
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(Exception, match="(?i)not a trainpad checkpoint"):
        bob.predict(handle_file(junk), api_name="/load_checkpoint")
    assert "(shipped)" in bob.predict(api_name="/use_shipped_model")


def test_training_waits_its_turn_and_stop_keeps_the_model(server, alice, bob):
    long_run = train(alice, epochs=20, batch_size=1, train_samples=4000)
    deadline = time.monotonic() + 60
    while not long_run.outputs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert long_run.outputs(), "the long run never started"

    queued = train(bob, train_samples=64)  # one run at a time: Bob waits in the queue
    seen = set()
    while time.monotonic() < deadline and "IN_QUEUE" not in seen:
        seen.add(queued.status().code.name)
        time.sleep(0.1)
    assert "IN_QUEUE" in seen and not queued.done()

    status = alice.predict(api_name="/stop")[0]
    assert status.startswith("**Stopped.**"), status
    long_run.result(timeout=60)
    bob_status = queued.result(timeout=120)[0]
    assert bob_status.startswith("**Done.**"), bob_status

    store = server.store
    assert store.get(alice.session_hash).run.train_end.status == "stopped"
    stopped = store.get(alice.session_hash).runs.latest_trained()
    assert stopped.outcome == "stopped" and stopped.model is not None and 0 < stopped.model.epochs < 20


def test_closing_a_session_frees_its_state(server):

    client = server.client()
    client.predict({"background": None, "layers": [], "composite": None}, api_name="/predict")
    session = client.session_hash
    store = server.store
    assert session in store
    client.close()  # the browser tab closes: demo.unload
    deadline = time.monotonic() + 20
    while session in store and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session not in store


# -- the shipped model ---------------------------------------------------------------------


def test_the_shipped_checkpoint_is_small_and_accurate(server, real_mnist):
    from trainpad.web.shipped_model import PRETRAINED, shipped_loader

    assert PRETRAINED.stat().st_size <= 2 * 1024 * 1024
    trained = shipped_loader(server.engine)()
    result = server.engine.evaluate(trained, data_dir=real_mnist)
    assert result.count == 10_000 and result.accuracy >= 0.99, f"{result.accuracy:.2%}"


# -- python app.py ------------------------------------------------------------------------


def test_python_app_py_starts_quickly_and_prints_its_address(tmp_path):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "TRAINPAD_LOAD_PLUGINS": "", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("GRADIO_SERVER_NAME", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "running at" in line:
                break
        elapsed = time.monotonic() - started
        assert lines and lines[-1].strip() == f"trainpad is running at http://127.0.0.1:{port}/", "".join(lines)
        assert elapsed < 60, f"took {elapsed:.0f} s to start"
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).status == 200
    finally:
        proc.terminate()
        proc.wait(30)


def test_list_plugins_prints_json_without_a_server():
    out = subprocess.run(
        [sys.executable, "app.py", "--list-plugins"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "TRAINPAD_LOAD_PLUGINS": ""}, check=True,
    ).stdout
    listing = json.loads(out)
    assert [tab["label"] for tab in listing["tabs"]] == ["Predict", "Train", "Evaluate", "Lab", "Plugins"]
    assert {"kind": "model", "name": "mnist-cnn"}.items() <= {k: c[k] for c in listing["components"] if c["name"] == "mnist-cnn" for k in ("kind", "name")}.items()


def test_host_port_and_share_flags():
    args = app.parse_args(["--host", "0.0.0.0", "--port", "8080", "--share"])
    options = app.launch_options(host=args.host, port=args.port, share=args.share)
    assert (options["server_name"], options["server_port"], options["share"]) == ("0.0.0.0", 8080, True)
    assert options["enable_monitoring"] is False and options["max_file_size"] == 20 * 2**20 and options["show_error"] is False
    defaults = app.parse_args([])
    assert defaults.host is None and defaults.port is None  # Gradio's env settings, then 127.0.0.1:7860


def test_the_page_brings_its_one_stylesheet_and_no_fragment_carries_a_style(server):
    """Before (issue 24): six modules each kept a ``CSS`` string that app.py joined for the page
    (and before that, the loop view sent its 2.5 kB of CSS with every update, a few times a
    second while training).  Now the page's look is one file, served once with the page."""
    from trainpad.web.render import CSS_FILE, TEMPLATES

    css = CSS_FILE.read_text()
    assert all(rule in css for rule in (".tp-hidden", ".tp-cm", ".tp-inside", ".tp-lab-code", ".tp-plugins", ".tp-loop .ln"))
    served = json.loads(urllib.request.urlopen(server.url + "config", timeout=30).read())["css"]
    assert css.strip() in served
    assert "<style" not in served
    templates = sorted(TEMPLATES.iterdir())
    assert templates and [path.name for path in templates if "<style" in path.read_text()] == []
