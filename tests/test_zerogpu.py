"""trainpad on a ZeroGPU Space, for real, on loopback.

The app runs as a Space on ZeroGPU hardware runs it: ``python app.py`` with
``SPACES_ZERO_GPU=true``, the real ``spaces`` package imported first (it patches torch and
hooks the launch), and the Space's device API at ``SPACES_ZERO_DEVICE_API_URL``: here an
emulation on 127.0.0.1 (``tests/zerogpu/device_api.py``) that schedules calls, keeps each
visitor's quota and records which processes the package's workers ran in.  The only thing
replaced is the worker's CUDA start-up, impossible without a GPU
(``tests/zerogpu/launch_app.py``): the worker is forked by the package as on a Space,
trainpad's job inside it finds no CUDA and trains on the CPU.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from typing import Iterator

import pytest

from run_places import evaluate, picture, step_then_start, stop_in_the_middle, train_and_predict, trained_in
from support import ROOT, AppProcess, Raw, free_port, real_mnist_dir
from trainpad.testing import write_idx_dataset

spaces = pytest.importorskip("spaces", reason="the ZeroGPU tests drive the real `spaces` package (pip install spaces)")

sys.path.insert(0, str(ROOT / "tests" / "zerogpu"))
from device_api import DeviceAPI, visitor_token  # noqa: E402

QUICK = {"epochs": 1, "batch_size": 100, "train_samples": 3000, "optimizer_sgd_lr": 0.05, "device": "auto"}
LONG = {"epochs": 5, "batch_size": 16, "train_samples": 3000, "optimizer_sgd_lr": 0.02, "device": "auto"}


class Space:
    """The app on emulated ZeroGPU hardware, and its device API."""

    def __init__(self, app: AppProcess, api: DeviceAPI) -> None:
        self.app, self.api = app, api

    def visitor(self, name: str) -> Raw:
        """A browser session of visitor ``name`` (the Space's proxy names them by ``X-IP-Token``), its event stream open."""
        return Raw(self.app.url, headers={"x-ip-token": visitor_token(name)}).listen()


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Iterator[Space]:
    workdir = tmp_path_factory.mktemp("zerogpu")
    data = real_mnist_dir() or write_idx_dataset(workdir / "data", train=3000, test=1000)
    cgroup = workdir / "cgroup"
    cgroup.write_text("1:devices:/trainpad-test\n")
    api = DeviceAPI(quotas={"mallory": 5})
    env = {
        "TRAINPAD_ZEROGPU_SPEED": "20",  # the emulated worker trains on a CPU (a busy one): plan its GPU time for that
        **os.environ,
        "SPACES_ZERO_GPU": "true",
        "SPACES_ZERO_DEVICE_API_URL": api.url,
        "ZEROGPU_PROC_SELF_CGROUP_PATH": str(cgroup),
        "ZEROGPU_OFFLOAD_DIR": str(workdir / "offload"),
        "TRAINPAD_DATA_DIR": str(data),
        "TRAINPAD_MAX_TRAINING_RUNS": "2",
        "TRAINPAD_MAX_RUN_SECONDS": "300",
        "GRADIO_TEMP_DIR": str(workdir / "gradio"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "TRAINPAD_PRETRAINED", "TRAINPAD_RUN_IN"):
        env.pop(name, None)
    port = free_port()
    app = AppProcess([sys.executable, ROOT / "tests" / "zerogpu" / "launch_app.py", "--port", port], port=port, cwd=ROOT, env=env, log_path=workdir / "app.log")
    try:
        app.wait_ready(timeout=240)
        yield Space(app, api)
    finally:
        app.stop()
        api.close()


def test_the_space_reports_its_gpu_function_at_start_up(space):
    assert space.api.startup_reports == 1  # a ZeroGPU Space without a @spaces.GPU function fails its start-up check


def test_a_quick_run_trains_in_a_gpu_worker_and_the_session_predicts_with_it(space):
    _, worker = train_and_predict(space.visitor("alice"), QUICK)
    assert worker != space.app.process.pid and worker in space.api.worker_pids()
    call = next(c for c in space.api.calls.values() if c.visitor == "alice")
    assert call.released and not call.failed and 0 < call.duration <= 300  # planned from the run, within the server's limit


def test_stop_in_the_middle_keeps_the_model_trained_so_far(space):
    stop_in_the_middle(space.visitor("bob"), LONG)


def test_step_then_start_carries_the_stepped_run_on_in_the_worker(space):
    step_then_start(space.visitor("carol"), QUICK)


def test_an_evaluation_answers_on_the_space(space):
    evaluate(space.visitor("dave"))


def test_a_visitor_over_quota_is_told_what_to_do(space):
    mallory = space.visitor("mallory")
    ok, message = mallory.call("train", QUICK, timeout=120)
    assert not ok and "quota" in message and "Sign in to Hugging Face" in message, message
    assert ("mallory", next(d for v, d in space.api.refused if v == "mallory")) in space.api.refused
    ok, out = mallory.call("predict", {"picture": picture(mallory)}, timeout=60)
    assert ok, out  # predictions need no GPU: over quota, the pad still answers


def test_two_sessions_train_at_once_in_their_own_workers_while_the_server_answers(space):
    erin, frank, grace = space.visitor("erin"), space.visitor("frank"), space.visitor("grace")
    runs = [erin.join("train", QUICK), frank.join("train", {**QUICK, "seed": 2})]
    erin.wait_update(runs[0], lambda data: re.search(r"step [\d,]+ of", str(data[0])), timeout=600)
    try:
        ok, out = grace.call("predict", {"picture": picture(grace)}, timeout=120)  # the server answers meanwhile
    except TimeoutError:
        os.kill(space.app.process.pid, signal.SIGUSR1)  # the app writes where each of its threads is
        time.sleep(2)
        raise AssertionError("no prediction while two runs trained:\n" + space.app.log_tail(400)) from None
    assert ok, out
    logs = []
    for raw, event in ((erin, runs[0]), (frank, runs[1])):
        message = raw.wait(event, timeout=600)
        assert message.get("success"), message
        data = message["output"]["data"]
        assert data[0].startswith("**Done.**"), data[0]
        logs.append(data[5])
    workers = {trained_in(log) for log in logs}
    assert space.app.process.pid not in workers and workers <= space.api.worker_pids()
