"""The public server's limits, piece by piece and without a server (fast).

``test_public_server.py`` proves each against ``python app.py``; here each piece's rules
are pinned down exactly: who gets refused, who makes room, what is counted, when a run
counts as abandoned.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from trainpad.engine.checkpoint import CheckpointLimits, check_archive, check_metadata
from trainpad.engine.errors import CheckpointError, shown
from trainpad.web.clients import client_address
from trainpad.web.fair_queue import FairQueue, QueueRefusal
from trainpad.web.guard import Presence, RequestGuard, UploadLedger
from trainpad.web.limits import Limits
from trainpad.web.messages import UserError
from trainpad.web.run_watch import RunWatch
from trainpad.web.sessions import SessionLimit, SessionStore
from trainpad.web.sketch import read_sketch

MB = 2**20


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Weights:
    """Stands for a model: ``model_bytes`` counts its one parameter."""

    nbytes: int

    def parameters(self):
        return [torch.zeros(self.nbytes // 4)]

    def buffers(self):
        return []


def own_model(store: SessionStore, session_id: str, client: str, nbytes: int) -> None:
    session = store.claim(session_id, client)
    session.set_model(SimpleNamespace(model=Weights(nbytes), describe=lambda: "m"), "uploaded")
    store.changed(session)


# -- sessions: how many, and whose memory ----------------------------------------------------


def test_a_client_gets_its_sessions_and_the_oldest_that_keep_nothing_make_room():
    store = SessionStore(max_sessions_per_client=3)
    for i in range(10):  # each keeps nothing of its own: the oldest goes each time
        store.claim(f"plain{i}", "10.0.0.1")
    assert [s.id for s in store.sessions()] == ["plain7", "plain8", "plain9"]
    store.claim("other", "10.0.0.2")  # another client is not affected
    assert len(store) == 4


def test_a_client_whose_sessions_all_keep_something_is_refused_a_new_one():
    store = SessionStore(max_sessions_per_client=2)
    own_model(store, "a", "10.0.0.1", 4096)
    own_model(store, "b", "10.0.0.1", 4096)
    with pytest.raises(SessionLimit, match="keeps at most 2 sessions .tabs. per visitor, and each of yours holds a model"):
        store.claim("c", "10.0.0.1")
    assert store.claim("a", "10.0.0.1").id == "a"  # its own sessions still answer
    store.claim("d", "10.0.0.2")


def test_the_server_keeps_at_most_max_sessions_in_all():
    store = SessionStore(max_sessions=2)
    own_model(store, "a", "10.0.0.1", 4096)
    own_model(store, "b", "10.0.0.2", 4096)
    with pytest.raises(SessionLimit, match="keeps at most 2 sessions at once"):
        store.claim("c", "10.0.0.3")


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "../x", "é"])
def test_session_ids_that_no_page_makes_are_refused(bad):
    with pytest.raises(SessionLimit, match="a session id is 1 to 64 letters"):
        SessionStore().claim(bad, "10.0.0.1")


def test_a_clients_memory_budget_drops_its_own_oldest_sessions():
    store = SessionStore(client_budget_bytes=10 * 4096, budget_bytes=100 * MB)
    own_model(store, "victim", "10.0.0.9", 4096)
    for i in range(5):
        own_model(store, f"mine{i}", "10.0.0.1", 4 * 4096)
    held = sum(s.nbytes() for s in store.sessions() if s.client == "10.0.0.1")
    assert held <= 10 * 4096 and "victim" in store and "mine4" in store
    store.get("mine0")  # the dropped session's user is told why
    assert "one visitor may use" in store.get("mine0").notice


def test_over_the_total_budget_the_client_holding_most_gives_first():
    store = SessionStore(budget_bytes=10 * 4096)
    own_model(store, "victim", "10.0.0.9", 4096)  # the least recently used of all
    for i in range(4):
        own_model(store, f"greedy{i}", "10.0.0.1", 3 * 4096)
    assert "victim" in store, "a client evicted another's model"
    assert store.total_bytes() <= 10 * 4096


def test_sessions_files_live_in_one_folder_removed_on_close():
    store = SessionStore()
    folder = store.claim("a", "10.0.0.1").folder()
    (folder / "model.pt").write_bytes(b"x")
    root = store.root
    assert folder.parent == root
    store.close()
    assert not root.exists()


# -- uploads per client ------------------------------------------------------------------------


def test_uploads_are_counted_per_client_and_in_all_over_the_hour():
    clock = Clock()
    ledger = UploadLedger(clock)
    server = Limits(max_uploads_per_client_mb=3, max_uploads_mb=5)
    assert ledger.charge("a", 2 * MB, server) is None
    assert "you have uploaded 2 MB in the last hour" in ledger.charge("a", 2 * MB, server)
    assert ledger.charge("b", 2 * MB, server) is None
    assert "this server has taken its 5 MB of uploads for this hour" in ledger.charge("c", 2 * MB, server)
    clock.now += 3601
    assert ledger.charge("a", 3 * MB, server) is None  # an hour on, Gradio has deleted them


# -- the fair queue ------------------------------------------------------------------------------


@dataclass
class Event:
    session_hash: str
    concurrency_id: str
    client: str = "10.0.0.1"
    _id: str = "e"
    request: Any = None

    def __post_init__(self) -> None:
        self.request = SimpleNamespace(scope={"type": "http", "headers": [], "client": (self.client, 1)})


@dataclass
class Line:
    queue: list = field(default_factory=list)


class FakeQueue:
    def __init__(self, *events: Event) -> None:
        self.event_queue_per_concurrency_id: dict[str, Line] = {}
        self.active_jobs: list = [None] * 4
        self.pending_event_ids_session: dict = {}
        for event in events:
            self.event_queue_per_concurrency_id.setdefault(event.concurrency_id, Line()).queue.append(event)


def fair(*events: Event, runs: set[str] | None = None, **caps: Any) -> FairQueue:
    server = Limits(**{"queue_size": 3, "max_waiting_runs": 2, "max_waiting_per_client": 4, "max_runs_per_client": 2, **caps})
    store = SessionStore()
    for event in events:
        store.claim(event.session_hash, event.client)
    return FairQueue(FakeQueue(*events), store, server_limits=lambda: server, runs=lambda: set(runs or ()))


def fn(kind: str) -> Any:
    return SimpleNamespace(concurrency_id=kind)


def test_each_kind_has_its_own_line():
    queue = fair(*(Event(f"s{i}", "training", client=f"10.0.1.{i}") for i in range(2)))
    with pytest.raises(QueueRefusal, match="The queue for training runs is full: 2 are waiting.*TRAINPAD_MAX_WAITING_RUNS"):
        queue.check(fn("training"), "new", "10.0.2.1")
    queue.check(fn("predict"), "new2", "10.0.2.2")  # predictions have their own line


def test_waiting_runs_of_clients_gone_take_no_place_in_the_line():
    clock = Clock()
    ghosts = [Event(f"ghost{i}", "training", client=f"10.0.3.{i}") for i in range(2)]
    queue = fair(*ghosts, max_waiting_runs=2)
    queue.presence = Presence(clock)
    queue.presence.opened("elsewhere")  # tracking
    for ghost in ghosts:
        queue.presence.seen(ghost.session_hash)  # when they joined; no stream since
    with pytest.raises(QueueRefusal, match="is full"):
        queue.check(fn("training"), "new", "10.0.2.1")
    clock.now += 11  # past TRAINPAD_CLIENT_GONE_SECONDS (10)
    queue.check(fn("training"), "new", "10.0.2.1")
    for i in range(6):  # still bounded: four times the line in all
        queue.queue.event_queue_per_concurrency_id["training"].queue.append(Event(f"more{i}", "training", client=f"10.0.4.{i}"))
    with pytest.raises(QueueRefusal, match="is full"):
        queue.check(fn("training"), "newer", "10.0.2.2")


def test_a_client_may_have_so_many_events_waiting():
    queue = fair(*(Event(f"s{i}", "predict") for i in range(2)), *(Event(f"e{i}", "evaluate") for i in range(2)))
    with pytest.raises(QueueRefusal, match="You have 4 requests waiting.*TRAINPAD_MAX_WAITING_PER_CLIENT"):
        queue.check(fn("page"), "new", "10.0.0.1")
    queue.check(fn("page"), "new", "10.0.0.2")


def test_stop_is_never_refused_but_twice_per_session_is_enough():
    queue = fair(*(Event(f"s{i}", "predict") for i in range(3)), Event("runner", "stop"), max_waiting_per_client=1)
    queue.check(fn("stop"), "runner", "10.0.0.1")  # the client's line and the kind's line are full
    queue.queue.event_queue_per_concurrency_id["stop"].queue.append(Event("runner", "stop"))
    with pytest.raises(QueueRefusal, match="Stop is already on its way"):
        queue.check(fn("stop"), "runner", "10.0.0.1")


def test_one_run_per_session_and_a_share_of_runs_per_client():
    queue = fair(Event("waiting", "training"), runs={"training"}, max_waiting_runs=10)
    queue.store.claim("training", "10.0.0.1")
    for session in ("waiting", "training"):
        with pytest.raises(QueueRefusal, match="A run is already going or waiting in this session"):
            queue.check(fn("training"), session, "10.0.0.1")
    with pytest.raises(QueueRefusal, match="You already have 2 run.s. waiting or training.*TRAINPAD_MAX_RUNS_PER_CLIENT"):
        queue.check(fn("training"), "third", "10.0.0.1")
    queue.check(fn("training"), "elsewhere", "10.0.0.7")


def test_a_new_session_that_does_not_fit_is_refused_before_queueing():
    queue = fair(max_waiting_runs=10)
    with pytest.raises(QueueRefusal) as refusal:
        queue.check(fn("predict"), "x" * 100, "10.0.0.1")
    assert refusal.value.status == 400 and "session id" in refusal.value.message


# -- who the client is ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forwarded, hops, expected",
    [
        ([], 0, "10.9.9.9"),
        (["1.1.1.1"], 0, "10.9.9.9"),  # no proxy trusted: the header is anyone's to send
        (["1.1.1.1"], 1, "1.1.1.1"),
        (["6.6.6.6, 1.1.1.1"], 1, "1.1.1.1"),  # what the client wrote before the proxy's entry is ignored
        (["6.6.6.6", "1.1.1.1, 2.2.2.2"], 2, "1.1.1.1"),
        (["1.1.1.1"], 2, "10.9.9.9"),  # fewer entries than proxies: not through them
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(forwarded, hops, expected):
    assert client_address(forwarded, "10.9.9.9", hops) == expected


def test_forwarded_hops_is_auto_on_a_space(monkeypatch):
    from trainpad.web.clients import forwarded_hops

    monkeypatch.delenv("TRAINPAD_FORWARDED_HOPS", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert forwarded_hops() == 0
    monkeypatch.setenv("SPACE_ID", "someone/trainpad")
    assert forwarded_hops() == 1
    monkeypatch.setenv("TRAINPAD_FORWARDED_HOPS", "2")
    assert forwarded_hops() == 2


# -- the request guard (ASGI) ---------------------------------------------------------------------


def call_guard(guard: RequestGuard, method: str, path: str, body: bytes = b"", headers: dict | None = None, query: bytes = b"") -> tuple[int, dict]:
    sent: list[dict] = []
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)] or [b""]

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "client": ("10.0.0.1", 5),
             "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()]}
    asyncio.run(guard(scope, receive, send))
    status = sent[0]["status"]
    payload = json.loads(sent[1]["body"]) if sent[1]["body"] else {}
    return status, payload


async def echo_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps({"got": len(body)}).encode()})


def make_guard(**caps: Any) -> RequestGuard:
    server = Limits(max_request_kb=2, max_upload_mb=1, max_uploads_per_client_mb=2, **caps)
    return RequestGuard(echo_app, presence=Presence(), ledger=UploadLedger(), server_limits=lambda: server)


def test_request_bodies_over_the_cap_are_refused_before_the_app_reads_them():
    guard = make_guard()
    assert call_guard(guard, "POST", "/gradio_api/queue/join", b"x" * 2000) == (200, {"got": 2000})
    status, payload = call_guard(guard, "POST", "/gradio_api/queue/join", b"x" * 5000, {"content-length": "5000"})
    assert status == 413 and "a request may be at most 2 kB (TRAINPAD_MAX_REQUEST_KB)" in payload["detail"]
    status, payload = call_guard(guard, "POST", "/gradio_api/queue/join", b"x" * 5000)  # chunked: counted as it comes
    assert status == 413


def test_uploads_need_a_length_and_count_against_the_clients_share():
    guard = make_guard()
    multipart = {"content-type": "multipart/form-data; boundary=x"}
    assert call_guard(guard, "POST", "/gradio_api/upload", b"y" * 10, multipart)[0] == 411
    upload = {**multipart, "content-length": str(900 * 1024)}
    assert call_guard(guard, "POST", "/gradio_api/upload", b"y" * 900 * 1024, upload)[0] == 200
    assert call_guard(guard, "POST", "/gradio_api/upload", b"y" * 900 * 1024, upload)[0] == 200
    status, payload = call_guard(guard, "POST", "/gradio_api/upload", b"y" * 900 * 1024, upload)
    assert status == 429 and "of uploads per visitor (TRAINPAD_MAX_UPLOADS_PER_CLIENT_MB)" in payload["detail"]
    big = {**multipart, "content-length": str(2 * MB)}
    status, payload = call_guard(guard, "POST", "/gradio_api/upload", b"", big)
    assert status == 413 and "an upload may be at most 1 MB" in payload["detail"]


def test_streams_of_bad_session_ids_are_refused_and_good_ones_counted():
    guard = make_guard()
    assert call_guard(guard, "GET", "/gradio_api/queue/data", query=b"session_hash=" + b"x" * 100)[0] == 400
    assert call_guard(guard, "GET", "/gradio_api/heartbeat/" + "x" * 100)[0] == 400
    assert call_guard(guard, "GET", "/gradio_api/queue/data", query=b"session_hash=abc")[0] == 200
    assert guard.presence.tracking and not guard.presence.connected("abc")  # it ended with the request


# -- runs whose client is gone -----------------------------------------------------------------


class FakeRun:
    """A session's run as the watch sees it: something to ask to stop."""

    stopped = False

    def ask_stop(self, *, now=False):
        self.stopped = now


def watched(clock: Clock, **kwargs: Any) -> tuple[RunWatch, Presence]:
    presence = Presence(clock)
    presence.opened("someone-else")  # tracking
    return RunWatch(presence, lambda: 2.0, clock=clock, interval=3600, **kwargs), presence


def test_a_run_without_an_event_stream_is_abandoned_after_the_grace_period():
    clock = Clock()
    watch, presence = watched(clock)
    ended = []

    def generator():
        try:
            yield 1
            yield 2
        finally:
            ended.append(True)

    ticket = watch.ticket("ghost")
    ticket.run, gen = FakeRun(), generator()
    ticket.generator = gen
    next(gen)
    clock.now += 1.5
    assert watch.check() == []
    presence.opened("reader")
    ticket_read = watch.ticket("reader")
    clock.now += 1.0
    assert watch.check() == [ticket]
    assert ticket.run.stopped and ended == [True] and ticket.abandoned.startswith("its page was closed")
    assert not ticket_read.abandoned


def test_a_run_whose_updates_pile_up_unread_is_abandoned():
    clock = Clock()
    watch, presence = watched(clock, backlog=lambda session: 500 if session == "deaf" else 0)
    presence.opened("deaf")
    ticket = watch.ticket("deaf")
    ticket.run = FakeRun()
    assert watch.check() == [ticket] and "had not read its last 100 updates" in ticket.abandoned


def test_the_watch_holds_generators_weakly():
    clock = Clock()
    watch, _ = watched(clock)

    def generator():
        yield 1

    ticket = watch.ticket("s")
    gen = generator()
    ticket.generator = gen
    del gen
    assert ticket.generator is None  # dropped by Gradio: collected (and closed) at once


# -- sketches -----------------------------------------------------------------------------------


def test_read_sketch_counts_layers_and_needs_a_composite():
    from trainpad.engine.pictures import ImageError

    with pytest.raises(ImageError, match="at most 4 layer.s.*this one has 9"):
        read_sketch({"background": None, "layers": [None] * 9, "composite": None}, max_layers=4)
    with pytest.raises(ImageError, match="at most 4 layer.s.*not a list of"):
        read_sketch({"layers": "many", "composite": None}, max_layers=4)
    with pytest.raises(ImageError, match="expected a sketch with a 'composite' picture"):
        read_sketch({"layers": []}, max_layers=4)
    assert read_sketch({"background": None, "layers": [], "composite": None}, max_layers=4) is None
    picture = np.zeros((16, 16), np.uint8)
    assert read_sketch(picture, max_layers=4) is picture


# -- checkpoints, as data -------------------------------------------------------------------------


def test_a_deflated_checkpoint_is_refused_before_torch_reads_it():
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(10)}, buffer)
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry.filename, src.read(entry.filename))
    check_archive(buffer.getvalue())  # torch.save's own: stored
    with pytest.raises(CheckpointError, match="compressed, which torch.save never does"):
        check_archive(packed.getvalue())
    with pytest.raises(CheckpointError, match="not a trainpad checkpoint"):
        check_archive(b"\x80\x02}q\x00.")  # a bare pickle


def payload(**changes: Any) -> dict[str, Any]:
    base = {
        "spec": {"dataset": {"name": "mnist"}, "model": {"name": "mnist-cnn", "params": {}}},
        "state_dict": {"w": torch.zeros(4)},
        "class_names": [str(i) for i in range(10)],
        "dataset_meta": {"input_shape": [1, 28, 28], "mean": [0.1], "std": [0.3]},
        "epochs": 1,
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": -1.0}, "epochs must be a number from 0 to 1,000,000"),  # 0.68 is fine: part of an epoch
        ({"epochs": True}, "epochs must be a number from 0 to 1,000,000"),
        ({"class_names": ["a"]}, "a classifier needs 2 or more"),
        ({"class_names": ["a", "a"]}, "class names repeat"),
        ({"output": "probabilities"}, "output must be log_probs or logits"),
        ({"dataset_meta": {"input_shape": [0, 28, 28]}}, "three positive whole numbers"),
        ({"dataset_meta": {"input_shape": [1, 28.0, 28]}}, "three positive whole numbers"),
        ({"dataset_meta": {"input_shape": [100, 28, 28]}}, "at most 64 channels"),
        ({"dataset_meta": {"input_shape": [1, 28, 28], "std": [float("nan")]}}, "std must be one finite number"),
        ({"dataset_meta": {"input_shape": [1, 28, 28], "std": [-1.0]}}, "std must be above 0"),
        ({"dataset_meta": {"input_shape": [3, 28, 28], "mean": [0.1, 0.2]}}, "mean must be 1 or 3 finite numbers"),
        ({"dataset_meta": "x"}, "dataset_meta must be a dict"),
        ({"metrics": [1]}, "metrics must be a dict"),
        ({"spec": {"dataset": {"name": "mnist"}, "model": {"name": "m", "params": [1]}}}, "settings must be a dict"),
    ],
)
def test_checkpoint_metadata_is_checked_as_data(changes, message):
    with pytest.raises(CheckpointError, match=message):
        check_metadata(payload(**changes))


def test_checkpoint_limits_apply_only_where_given():
    wide = payload(class_names=[str(i) for i in range(2000)], dataset_meta={"input_shape": [1, 2000, 2000]})
    check_metadata(wide)  # the CLI's: no caps beyond the structural ones
    with pytest.raises(CheckpointError, match="2,000 classes, more than the 1,000"):
        check_metadata(wide, CheckpointLimits(max_classes=1000))
    with pytest.raises(CheckpointError, match="at most 64 channels and 1,024 pixels a side"):
        check_metadata(payload(dataset_meta={"input_shape": [1, 2000, 28]}), CheckpointLimits(max_input_side=1024))
    with pytest.raises(CheckpointError, match="TRAINPAD_MAX_MODEL_MB"):
        check_metadata(payload(state_dict={"w": torch.zeros(MB)}), CheckpointLimits(max_model_bytes=MB))


def test_a_model_is_planned_on_the_meta_device_without_memory():
    from trainpad.engine.model_size import plan_model
    from trainpad.plugins.mnist_cnn import mnist_cnn

    planned = plan_model(mnist_cnn, input_shape=(1, 28, 28), num_classes=10, width=256, hidden=4096)
    assert planned.nbytes > 150 * MB and planned.tensors["fc2.weight"] == ((10, 4096), torch.float32)

    def loads_a_file(**kwargs):  # a factory that cannot build on the meta device
        return torch.load("/nonexistent")

    assert plan_model(loads_a_file) is None


# -- messages, pages, booleans -------------------------------------------------------------------


def test_messages_echo_a_few_dozen_characters_at_most():
    assert shown("x" * 10_000_000) == repr("x" * 40) + "… (10,000,000 characters)"
    assert shown(list(range(1000))) == "<list of 1,000 items>"
    assert len(shown(b"y" * 1000)) <= 41


def test_api_booleans_are_true_or_false_only():
    from trainpad.web.forms import api_flag

    assert api_flag(True, "x") is True and api_flag("false", "x") is False and api_flag(" TRUE ", "x") is True
    for value in ("no", 0, 1, None, "", [True]):
        with pytest.raises(UserError, match="x must be true or false"):
            api_flag(value, "x")


def test_a_confusion_matrix_of_many_classes_is_summarised():
    from trainpad.web.evaluate_html import MATRIX_CLASSES, confusion_html, per_class_html

    small = confusion_html(np.eye(10, dtype=int) * 3, [str(i) for i in range(10)])
    assert small.count("<td") == 100
    names = ["<b>" + "n" * 200 for _ in range(500)]
    matrix = np.random.default_rng(0).integers(0, 3, (500, 500))
    big = confusion_html(matrix, names)
    assert "500 classes are too many to draw" in big and big.count("<tr>") <= 21 and len(big) < 20_000
    assert "<b>" not in big and "n" * 41 not in big  # escaped and cut short
    bars = per_class_html([0.5] * 500, names, totals=[10] * 500)
    assert "The 20 of 500 classes with the lowest accuracy" in bars and len(bars) < 20_000
    assert MATRIX_CLASSES >= 10


def test_an_evaluation_asked_to_stop_covers_the_batches_it_saw():
    from trainpad.engine.evaluation import evaluate
    from torch.utils.data import DataLoader, TensorDataset

    data = DataLoader(TensorDataset(torch.zeros(50, 3), torch.zeros(50, dtype=torch.long)), batch_size=10)
    model = torch.nn.Linear(3, 2)
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    result = evaluate(model, data, loss_fn=torch.nn.functional.cross_entropy, to_probs=lambda o: o.softmax(1),
                      num_classes=2, device=torch.device("cpu"), should_stop=stop_after_two)
    assert result.stopped and result.count == 20


def test_freed_memory_can_be_returned_on_glibc():
    import sys

    from trainpad.runtime.memory import release_memory, resident_bytes

    assert isinstance(release_memory(), bool)
    if sys.platform.startswith("linux"):
        assert resident_bytes() > 0


# -- the deployment guide -------------------------------------------------------------------------


def test_the_deployment_guide_lists_every_limit_and_each_test_it_cites_exists():
    """docs/deploying.md names every server limit, and each promise there cites a test that exists."""
    import ast
    import re
    from pathlib import Path

    from trainpad import settings

    root = Path(__file__).resolve().parent.parent
    guide = (root / "docs" / "deploying.md").read_text()
    missing = [name for name, s in settings.SETTINGS.items() if s.section == "server limits" and f"`{name}`" not in guide]
    assert not missing, f"docs/deploying.md does not list {missing}"
    defined = {
        node.name
        for path in (root / "tests").rglob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    cited = set(re.findall(r"`(test_[a-z0-9_]+)`", guide))
    assert len(cited) >= 30 and cited <= defined, sorted(cited - defined)
