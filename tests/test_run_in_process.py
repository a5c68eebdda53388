"""``TRAINPAD_RUN_IN=process``: each run and evaluation in a process of its own, for real.

``python app.py`` on 127.0.0.1 with runs in spawned processes: the Train tab works as it
does with runs in the server (a run, Stop in the middle, Step then Start, an evaluation),
a plugin that kills its process costs its run alone, and the server's memory comes back
after many runs (read from ``/proc``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from run_places import evaluate, picture, step_then_start, stop_in_the_middle, train_and_predict, trained_in
from support import ROOT, AppProcess, Raw, free_port, install_test_plugin
from trainpad.runtime.memory import resident_bytes
from trainpad.testing import write_idx_dataset

CRASH = {"name": "crash", "module": "trainpad_test_crash", "dist": "trainpad-test-crash", "version": "0.1"}
TINY = {"epochs": 1, "batch_size": 32, "train_samples": 256}
SMALL = {"epochs": 1, "batch_size": 50, "train_samples": 1000, "optimizer_sgd_lr": 0.05}
LONG = {"epochs": 5, "batch_size": 8, "train_samples": 1000, "optimizer_sgd_lr": 0.02}
MB = 2**20

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="the server's memory is read from /proc (Linux only)")


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[AppProcess]:
    workdir = tmp_path_factory.mktemp("process")
    data = write_idx_dataset(workdir / "data", train=1000, test=500)
    site = install_test_plugin(workdir / "site", CRASH)
    env = {
        **os.environ,
        "TRAINPAD_RUN_IN": "process",
        "TRAINPAD_DATA_DIR": str(data),
        "TRAINPAD_LOAD_PLUGINS": "crash",
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "GRADIO_TEMP_DIR": str(workdir / "gradio"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(workdir),
    }
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "TRAINPAD_PRETRAINED", "TRAINPAD_DISABLE_PLUGINS"):
        env.pop(name, None)
    port = free_port()
    server = AppProcess([sys.executable, "app.py", "--port", port], port=port, cwd=ROOT, env=env, log_path=workdir / "app.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def gone(pid: int, timeout: float = 60) -> bool:
    """Whether process ``pid`` has ended (within ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in status:  # ended, not yet reaped by its parent
            return True
        time.sleep(0.1)
    return False


def test_a_run_trains_in_a_process_of_its_own_that_ends_with_it(app):
    _, worker = train_and_predict(Raw(app.url).listen(), SMALL)
    assert worker != app.process.pid and gone(worker)


def test_stop_in_the_middle_keeps_the_model_trained_so_far(app):
    stop_in_the_middle(Raw(app.url).listen(), LONG)


def test_step_then_start_carries_the_stepped_run_on(app):
    step_then_start(Raw(app.url).listen(), SMALL)


def test_an_evaluation_runs_in_a_process_too(app):
    evaluate(Raw(app.url).listen())


def test_a_plugin_that_ends_its_process_costs_its_run_alone(app):
    raw = Raw(app.url).listen()
    # the first epoch's end (5 steps of 200 samples) sends the weights back; the process dies in the second
    ok, message = raw.call("train", {**SMALL, "epochs": 2, "batch_size": 200, "loss": "crash", "loss_crash_after": 7}, timeout=300)
    assert not ok and "ended unexpectedly (exit code 3)" in message and "the server is unaffected" in message, message
    ok, out = raw.call("show_run", {"number": "1"})
    assert ok and out[0].startswith("**The run failed.**") and "last snapshot" in out[0], out[0]
    assert "epoch 1/2" in out[5]  # what it trained before it died is in its log, and its model is kept
    ok, out = raw.call("predict", {"picture": picture(raw)}, timeout=60)
    assert ok, out  # the server answers


def test_the_servers_memory_comes_back_after_20_runs(app):
    raw = Raw(app.url).listen()
    assert raw.call("train", TINY, timeout=300)[0]  # the first run loads what every later one reuses
    before = resident_bytes(app.process.pid)
    for _ in range(20):
        ok, out = raw.call("train", TINY, timeout=300)
        assert ok, out
    after = resident_bytes(app.process.pid)
    assert after - before < 100 * MB, f"the server grew by {(after - before) / MB:.0f} MB over 20 runs"
    assert trained_in(out[5]) != app.process.pid
