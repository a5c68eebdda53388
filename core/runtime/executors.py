"""Where a job runs: a thread of this process, or a process of its own.

A job (:mod:`trainpad.engine.job`) is plain data in and picklable events out, so the
caller need not know where it runs.  :class:`ThreadExecutor` runs it in a thread here, as
the CLI and a local app do.  :class:`ProcessExecutor` runs each job in a process of its
own, started fresh (a new interpreter, never a fork of a threaded server): the memory a
run takes goes back to the system when it ends, and a crash in a plugin's training code
(an ``os._exit``, a segfault) ends that process alone, reported as a clear
:class:`~trainpad.engine.job.JobFailed`; the model of a run that dies is its last
:class:`~trainpad.engine.job.Snapshot`.  A third place, a ZeroGPU worker, belongs to the
web app (:mod:`trainpad.web.zerogpu`): it needs a Gradio request.

Each executor hands back a :class:`JobHandle`: the job's events as they come, and Stop.
``TRAINPAD_RUN_IN`` chooses the executor (:func:`run_in`).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
import types
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
import trainpad

from trainpad import settings
from trainpad.engine.engine import Engine
from trainpad.engine.events import LAST_EVENTS, JobFailed
from trainpad.engine.job import EvalSpec, LabSpec, RunSpec, StopFile, StopFlag
from trainpad.engine.message import msg
from trainpad.engine.plugin_loader import make_plugin_manager

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine

log = logging.getLogger("trainpad.runtime")

#: The places a job can run (``TRAINPAD_RUN_IN``); ``zerogpu`` is the web app's own.
PLACES = ("thread", "process", "zerogpu")
#: Seconds a process asked to stop now is given before it is killed.
KILL_AFTER = 20.0


def run_in() -> str:
    """Where jobs run here: ``TRAINPAD_RUN_IN``, else ``zerogpu`` on a ZeroGPU Space
    (``SPACES_ZERO_GPU`` set), else ``thread``."""
    chosen = settings.get("TRAINPAD_RUN_IN")
    if chosen:
        return chosen
    return "zerogpu" if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true") else "thread"


class JobHandle:
    """A job running somewhere: its events as they arrive, and a way to stop it.

    The producer (the executor) calls :meth:`put` for each event and :meth:`finish` at the
    end; a consumer calls :meth:`get` until :attr:`done`.
    """

    def __init__(self, stop: StopFlag | StopFile, *, where: str) -> None:
        self._events: queue.Queue[Any] = queue.Queue()
        self._stop = stop
        self._ended = threading.Event()
        self._last_taken = False
        #: ``thread``, ``process`` or ``zerogpu``; and the process id the job runs in
        self.where = where
        self.pid: int | None = os.getpid() if where == "thread" else None
        self._kill: Callable[[], None] | None = None

    def put(self, event: Any) -> None:
        self._events.put(event)

    def finish(self, failure: JobFailed | None = None) -> None:
        """The producer is done; ``failure`` says why when no last event came."""
        if failure is not None:
            self._events.put(failure)
        self._ended.set()
        self._events.put(_END)

    def get(self, timeout: float | None = None) -> Any:
        """The next event, or ``None`` when none came within ``timeout`` seconds (or the job is done)."""
        if self._last_taken:
            return None
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is _END:
            self._last_taken = True
            return None
        return event

    @property
    def done(self) -> bool:
        """Every event has been taken."""
        return self._last_taken

    @property
    def ended(self) -> bool:
        """The job has ended (its events may not all be taken yet)."""
        return self._ended.is_set()

    def stop(self, *, now: bool = False) -> None:
        """Ask the job to stop after its current step (``now``: cut a test short too); it
        then ends as a stopped run does, keeping its model."""
        if not self._ended.is_set():
            self._stop.set(now=now)

    def kill(self) -> None:
        """End a job that no longer answers (a process past its time), at once."""
        if self._kill is not None and not self._ended.is_set():
            self._kill()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended; whether it has."""
        return self._ended.wait(timeout)


_END = object()


class ThreadExecutor:
    """Runs each job in a daemon thread of this process, with this process's engine."""

    where = "thread"

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine

    def run(self, spec: RunSpec) -> JobHandle:
        from trainpad.engine.job_runner import run_job  # torch: not imported until a job runs

        return self._start(lambda stop: run_job(spec, self.engine, stop), "trainpad-run")

    def evaluate(self, spec: EvalSpec) -> JobHandle:
        from trainpad.engine.job_runner import evaluate_job  # torch: not imported until a job runs

        return self._start(lambda stop: evaluate_job(spec, self.engine, stop), "trainpad-evaluate")

    def lab(self, spec: LabSpec) -> JobHandle:
        from trainpad.engine.job_runner import lab_job  # torch: not imported until a job runs

        return self._start(lambda stop: lab_job(spec, self.engine, stop), "trainpad-lab")

    def _start(self, job: Callable[[StopFlag], Any], name: str) -> JobHandle:
        stop = StopFlag()
        handle = JobHandle(stop, where=self.where)

        def work() -> None:
            try:
                for event in job(stop):
                    handle.put(event)
            except BaseException as exc:  # run_job reports its own failures; this is a bug of ours
                log.exception("a job failed outside its run")
                handle.put(JobFailed.of(exc))
            finally:
                handle.finish()

        threading.Thread(target=work, name=name, daemon=True).start()
        return handle

    def prepare(self) -> None:
        """Nothing to get ready: jobs run here."""

    def close(self) -> None:
        """Nothing to end: a job's thread ends with its job."""


# -- jobs in processes of their own ----------------------------------------------------------------


@dataclass(frozen=True)
class EngineRecipe:
    """How to make, in another interpreter, an engine with the same plugins as this one's:
    each registered plugin module by its import name (built-ins, installed plugins and a
    test's own modules alike), with what was known of it, and this process's ``sys.path``.

    :param unportable: plugins that are not modules (objects registered by hand): a job
        in another process cannot have them.
    """

    modules: tuple[tuple[str, str], ...]
    infos: dict[str, Any]
    sys_path: tuple[str, ...]
    unportable: tuple[str, ...] = ()

    @classmethod
    def of(cls, engine: "Engine") -> "EngineRecipe":
        modules, unportable = [], []
        for name, plugin in engine.pm.list_name_plugin():
            if isinstance(plugin, types.ModuleType):
                modules.append((name, plugin.__name__))
            elif plugin is not None:
                unportable.append(name)
        infos = {name: engine.plugins[name] for name, _ in modules if name in engine.plugins}
        return cls(tuple(modules), infos, tuple(p for p in sys.path if p), tuple(unportable))

    def build(self) -> "Engine":
        """The engine, made here (in the job's process)."""


        pm = make_plugin_manager()
        for name, module in self.modules:
            pm.register(importlib.import_module(module), name=name)
        return Engine(pm, dict(self.infos)).startup()


class ProcessExecutor:
    """Runs each job in a new Python process (see the module), one job a process.

    A process takes a few seconds to start (torch, the plugins), so one is kept started
    and waiting for the next job; it is replaced as soon as it is taken.

    :param spare: keep a started process waiting (off in tests that count processes).
    """

    where = "process"

    def __init__(self, engine: "Engine", *, spare: bool = True) -> None:
        self.recipe = EngineRecipe.of(engine)
        self.spare_wanted = spare
        self._spare: _Worker | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._folder = Path(tempfile.mkdtemp(prefix="trainpad-jobs-"))

    def run(self, spec: RunSpec) -> JobHandle:
        return self._start(("run", spec))

    def evaluate(self, spec: EvalSpec) -> JobHandle:
        return self._start(("evaluate", spec))

    def lab(self, spec: LabSpec) -> JobHandle:
        return self._start(("lab", spec))

    def prepare(self) -> None:
        """Start the waiting process now (the app calls this once it is up)."""
        if self.spare_wanted:
            self._replace_spare()

    def close(self) -> None:
        """End the waiting process (the app is shutting down); running jobs end with their runs."""
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.kill()

    def _start(self, job: tuple[str, Any]) -> JobHandle:
        with self._lock:
            worker, self._spare = self._spare, None
        if worker is None or not worker.alive:
            worker = _Worker.start(self.recipe)
        if self.spare_wanted:
            threading.Thread(target=self._replace_spare, name="trainpad-spare-worker", daemon=True).start()
        stop = StopFile(self._folder / f"stop-{worker.process.pid}-{time.monotonic_ns()}")
        handle = JobHandle(stop, where=self.where)
        handle.pid = worker.process.pid
        handle._kill = worker.kill
        worker.hand(job, stop, handle)
        return handle

    def _replace_spare(self) -> None:
        with self._lock:
            if self._closed or (self._spare is not None and self._spare.alive):
                return
        worker = _Worker.start(self.recipe)
        with self._lock:
            if self._closed or self._spare is not None:
                worker.kill()
                return
            self._spare = worker


@dataclass(eq=False)
class _Worker:
    """One job process: started with the recipe, it builds its engine and waits for its job."""

    process: subprocess.Popen
    connection: Connection
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, recipe: EngineRecipe) -> "_Worker":
        plugins = importlib.util.find_spec("trainpad.plugins")  # where the built-in plugins are (not imported here)
        ours, theirs = os.pipe()
        back, forth = os.pipe()  # parent -> child
        script = Path(__file__).with_name("job_worker.py")
        command = [
            sys.executable, str(script),
            "--send", str(theirs), "--receive", str(back),
            "--trainpad", str(Path(trainpad.__file__).parent), "--plugins", str(plugins.submodule_search_locations[0]),
        ]
        process = subprocess.Popen(command, pass_fds=(theirs, back), close_fds=True)
        os.close(theirs)
        os.close(back)
        connection = _Duplex(Connection(ours, writable=False), Connection(forth, readable=False))
        connection.send(recipe)
        return cls(process, connection)  # type: ignore[arg-type]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def hand(self, job: tuple[str, Any], stop: StopFile, handle: JobHandle) -> None:
        """Give the process its job, and pass what it sends on to ``handle`` (a thread)."""
        kind, spec = job
        try:
            self.connection.send((kind, spec, stop.path))
        except (OSError, pickle.PicklingError) as exc:
            self.kill()
            handle.finish(_crashed(self.process, f"it could not be given its job ({type(exc).__name__})"))
            return
        threading.Thread(target=self._relay, args=(handle,), name="trainpad-job-relay", daemon=True).start()

    def _relay(self, handle: JobHandle) -> None:
        last = None
        try:
            while True:
                try:
                    event = self.connection.recv()
                except (EOFError, OSError):
                    break
                except Exception as exc:  # an event that does not unpickle here
                    last = JobFailed(f"an event of the job could not be read ({type(exc).__name__}: {exc})", "", type(exc).__name__, expected=False)
                    break
                if isinstance(event, _Ready):
                    continue
                handle.put(event)
                if isinstance(event, LAST_EVENTS):
                    last = event
                    break
        finally:
            if last is None:
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.kill()
            handle.finish(None if last is not None else _crashed(self.process))
            self.connection.close()
            threading.Thread(target=self._reap, name="trainpad-job-reap", daemon=True).start()

    def _reap(self) -> None:
        try:
            self.process.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover (the kernel did not reap it)
                log.warning("job process %s did not end", self.process.pid)


class _Duplex:
    """Two one-way pipes as one connection, sending plain pickles.

    Not :meth:`Connection.send`: torch makes multiprocessing's pickler pass tensors
    through shared memory handed over by a server that authenticates with the
    ``multiprocessing`` key of a parent, and this process is no multiprocessing child.
    """

    def __init__(self, reader: Connection, writer: Connection) -> None:
        self.reader, self.writer = reader, writer

    def send(self, obj: Any) -> None:
        self.writer.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def recv(self) -> Any:
        return pickle.loads(self.reader.recv_bytes())

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


@dataclass(frozen=True)
class _Ready:
    """The worker has built its engine and waits for its job."""


def _crashed(process: subprocess.Popen, how: str = "") -> JobFailed:
    code = process.poll()
    what = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code is not None else "still running"
    detail = how or f"it ended unexpectedly ({what})"
    return JobFailed(
        f"the run's process {process.pid} failed: {detail}",
        msg(
            "The run's process ended unexpectedly ({how}), most likely in a plugin's code; the server is unaffected. The model trained up to its "
            "last snapshot is kept. Try again, or choose other components.",
            how=what,
        ),
        "WorkerCrash",
    )


def make_executor(engine: "Engine", place: str | None = None) -> ThreadExecutor | ProcessExecutor:
    """The executor for ``place`` (:func:`run_in` by default) other than ZeroGPU's."""
    place = place or run_in()
    if place == "process":
        return ProcessExecutor(engine)
    return ThreadExecutor(engine)


__all__ = ["EngineRecipe", "JobHandle", "PLACES", "ProcessExecutor", "ThreadExecutor", "make_executor", "run_in"]
