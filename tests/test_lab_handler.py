"""The Lab tab's handler, as any client can call it: it waits for a training slot saying so,
gives the slot back however the page ends, bounds each session, visitor and run, and refuses
what it cannot use before anything waits or loads."""

from __future__ import annotations

import time

import pytest

from trainpad.web.lab_handler import SAME, WAITING, LabRunner
from trainpad.web.messages import UserError
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import shipped_loader


@pytest.fixture
def runner(engine, mnist_dir):
    store = SessionStore(shipped_loader(engine))
    yield LabRunner(engine, store, data_dir=mnist_dir, update_every=0.0)
    store.close()


def slot_given_back(runner, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while runner.slots.active and time.monotonic() < deadline:
        time.sleep(0.02)
    return runner.slots.active == 0


def test_an_experiment_waits_for_a_training_slot_saying_so_then_runs(runner):
    assert runner.slots.acquire(timeout=5)  # another session's run is training
    try:
        views = runner.run("alice", "zero-grad", "mnist", {"steps": 5})
        assert next(views).status == WAITING
        assert next(views).status == WAITING
    finally:
        runner.slots.release()
    shown = list(views)
    assert shown[0].status == "**Loading the samples…**" and any(v.status.startswith("**without it:** ") for v in shown)
    assert any("<svg" in v.result for v in shown[:-1])  # the curves so far, while it runs
    assert shown[-1].status.startswith("**Done** in ") and "Without optimizer.zero_grad() each gradient" in shown[-1].result
    assert slot_given_back(runner)


def test_the_slot_comes_back_when_the_page_goes_away(runner):
    views = runner.run("alice", "seed", "mnist", {"others": 5})
    next(views)
    assert runner.slots.active == 1
    views.close()  # the tab closed, or Stop
    assert slot_given_back(runner)
    assert list(runner.run("alice", "zero-grad", "mnist", {"steps": 5}))[-1].status.startswith("**Done**")  # the session may run again


def test_one_experiment_a_session_and_a_few_a_visitor(runner, monkeypatch):
    monkeypatch.setenv("TRAINPAD_MAX_RUNS_PER_CLIENT", "2")
    for session in ("a", "b", "c", "d"):
        runner.store.claim(session, "10.0.0.1" if session != "d" else "10.0.0.2")
    assert runner.slots.acquire(timeout=5)  # everyone waits
    try:
        first, second = runner.run("a", "zero-grad", "mnist", {}), runner.run("b", "zero-grad", "mnist", {})
        assert next(first).status == next(second).status == WAITING
        with pytest.raises(UserError, match="already going in this session"):
            next(runner.run("a", "seed", "mnist", {}))
        with pytest.raises(UserError, match=r"You already have 2 experiment\(s\) going.*TRAINPAD_MAX_RUNS_PER_CLIENT"):
            next(runner.run("c", "seed", "mnist", {}))
        other = runner.run("d", "seed", "mnist", {})
        assert next(other).status == WAITING  # another visitor
        for views in (first, second, other):
            views.close()
    finally:
        runner.slots.release()
    assert next(runner.run("c", "zero-grad", "mnist", {})).status  # their turns ended: room again


def test_an_experiment_past_the_time_limit_stops_saying_so(runner, monkeypatch):
    monkeypatch.setenv("TRAINPAD_MAX_LAB_SECONDS", "0.001")
    with pytest.raises(UserError, match=r"still running after 0.001 s.*TRAINPAD_MAX_LAB_SECONDS"):
        list(runner.run("alice", "batch-size", "mnist", {}))
    assert slot_given_back(runner)


@pytest.mark.parametrize(
    "name, dataset, params, message",
    [
        (None, "mnist", {}, "There is no experiment None"),
        ("x" * 100_000, "mnist", {}, "There is no experiment 'xxxx"),
        (["zero-grad"], "mnist", {}, "There is no experiment"),
        ("conv", "mnist", {}, "runs on a drawing"),
        ("zero-grad", ["mnist"], {}, "Choose the dataset from the list"),
        ("zero-grad", "", {}, "Choose the dataset from the list"),
        ("zero-grad", "no-such", {}, "no dataset named 'no-such'"),
        ("zero-grad", "mnist", "steps=5", "given by name"),
        ("zero-grad", "mnist", {f"p{i}": 1 for i in range(1000)}, "at most 32"),
        ("zero-grad", "mnist", {"steps": float("nan")}, "steps"),
        ("zero-grad", "mnist", {"steps": 10**12}, "steps must be at most 64"),
        ("zero-grad", "mnist", {"steps": 5.5}, "steps"),
        ("zero-grad", "mnist", {"lr": "1e9"}, "lr must be at most 1"),
        ("zero-grad", "mnist", {"rm -rf": 1}, "has no parameter"),
        ("no-grad", "mnist", {"hidden": 10**9}, "hidden must be at most 2048"),
    ],
)
def test_what_a_client_sends_is_checked_before_anything_waits_or_loads(runner, name, dataset, params, message):
    with pytest.raises(UserError, match=message) as refused:
        next(runner.run("alice", name, dataset, params))
    assert len(str(refused.value)) < 400 and runner.slots.active == 0


# -- the conv view ---------------------------------------------------------------------------


def test_the_conv_view_slides_over_a_drawing_step_by_step(runner, real_digits):
    from support import sketch_of

    images, _ = real_digits
    view = runner.conv("alice", sketch_of(images[0]), position=400)
    assert (view.positions, view.position, view.filters) == (784, 400, 16)
    assert "<svg" in view.html and "Filter 0 (of 16, in convs.0), stride 1, padding 1: position 400 (row 14, column 8) of 0 to 783" in view.html
    assert view.finding.startswith("Filter 0 lays its 3x3 weights on the picture at row 14, column 8")
    step = runner.conv("alice", SAME, position=400, move=1)  # Step: the same drawing, one position on
    assert step.position == 401 and "row 14, column 9" in step.finding
    assert runner.conv("alice", SAME, position=0, move=-1).position == 0  # not before the first
    wide = runner.conv("alice", SAME, filter=7, stride=2, padding=0, position=10**5)
    assert (wide.positions, wide.position) == (13 * 13, 13 * 13 - 1)  # past the last: the last
    other = runner.conv("alice", sketch_of(images[1]), position=400)  # a new drawing
    assert other.html != view.html


def test_the_conv_view_says_what_it_cannot_do(runner, engine, mnist_dir):
    import numpy as np

    with pytest.raises(UserError, match="blank"):
        runner.conv("alice", {"composite": np.full((800, 800, 4), 255, dtype=np.uint8)})
    with pytest.raises(UserError, match="choose one from 0 to 15"):
        runner.conv("alice", None, filter=16)
    for hostile in ({"filter": "abc"}, {"stride": 100}, {"padding": -1}, {"position": float("inf")}):
        with pytest.raises(UserError):
            runner.conv("alice", None, **hostile)
    with pytest.raises(UserError, match="layer"):
        runner.conv("alice", {"composite": None, "layers": [None] * 100})
    empty = LabRunner(engine, SessionStore(lambda: None), data_dir=mnist_dir)
    with pytest.raises(UserError, match="load or train a model first"):
        empty.conv("bob", None)


def test_download_as_a_script(runner):
    written = runner.export("alice", "zero-grad", "mnist", {"lr": 0.1})
    assert written.path.name == "lab_zero_grad.py" and "PARAMS = {'lr': 0.1, 'steps': 60}" in written.path.read_text()
    assert written.message == "python lab_zero_grad.py runs this experiment with torch and torchvision alone."
    with pytest.raises(UserError, match="Slide the filter over a drawing first"):
        runner.export("alice", "conv", None, None)
    runner.conv("alice", None, filter=3)
    assert "PICTURE = torch.tensor(" in runner.export("alice", "conv", None, None).path.read_text()
    with pytest.raises(UserError, match="at most 64"):
        runner.export("alice", "zero-grad", "mnist", {"steps": 65})


def test_an_experiment_runs_where_the_server_runs_jobs_with_the_same_result(engine, mnist_dir):
    """With ``TRAINPAD_RUN_IN=process`` an experiment runs in a process of its own (its memory
    goes back to the system when it ends) and finds what it finds in a thread, to the bit."""
    import os

    from trainpad.runtime.executors import ProcessExecutor, ThreadExecutor

    class Recorded:  # a real executor, keeping the handles it gives
        def __init__(self, executor):
            self.executor, self.handles = executor, []

        def lab(self, spec):
            self.handles.append(self.executor.lab(spec))
            return self.handles[-1]

    results = {}
    for name, executor in (("thread", ThreadExecutor(engine)), ("process", ProcessExecutor(engine, spare=False))):
        store = SessionStore(shipped_loader(engine))
        recorded = Recorded(executor)
        try:
            runner = LabRunner(engine, store, data_dir=mnist_dir, update_every=0.0, executor=recorded)
            last = list(runner.run("alice", "zero-grad", "mnist", {"steps": 5}))[-1]
        finally:
            store.close()
            executor.close()
        assert last.status.startswith("**Done** in "), last.status
        results[name] = last.result
        (handle,) = recorded.handles
        assert handle.where == name and (handle.pid == os.getpid()) == (name == "thread")
        assert slot_given_back(runner)
    assert results["process"] == results["thread"]
