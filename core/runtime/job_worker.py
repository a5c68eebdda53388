"""A job's own process (see :class:`trainpad.runtime.executors.ProcessExecutor`).

Started as a script by the server, with two pipes: it imports ``trainpad`` from the very
folders the server runs (an installed package or a checkout, as a Space has), builds an
engine from the server's :class:`~trainpad.runtime.executors.EngineRecipe`, imports torch,
and waits.  Given one job, it runs it, sends each event back, and ends: whatever memory the
run took goes with it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from trainpad.engine.events import JobFailed
from trainpad.engine.job import StopFile
from trainpad.runtime.executors import _Duplex, _Ready
from trainpad.runtime.threads import apply_runtime_settings

if TYPE_CHECKING:
    from trainpad.runtime.executors import EngineRecipe, _Duplex


def import_trainpad(package: str, plugins: str) -> None:
    """Make ``trainpad`` and ``trainpad.plugins`` the server's, from their folders."""
    for name, folder in (("trainpad", package), ("trainpad.plugins", plugins)):
        spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    sys.modules["trainpad"].plugins = sys.modules["trainpad.plugins"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for flag in ("--send", "--receive"):
        parser.add_argument(flag, type=int, required=True)
    for flag in ("--trainpad", "--plugins"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    del sys.path[0]  # this script's folder: its modules are trainpad.runtime's, not top-level ones
    import_trainpad(args.trainpad, args.plugins)



    apply_runtime_settings(shared=True)  # before torch: the server beside it answers requests
    server = _Duplex(Connection(args.receive, writable=False), Connection(args.send, readable=False))
    recipe = server.recv()
    sys.path[:] = list(recipe.sys_path)
    run(recipe, server)


def run(recipe: "EngineRecipe", server: "_Duplex") -> None:
    """Build the engine, say so, take one job and send its events back; then end the process."""
    from trainpad.engine.job_runner import evaluate_job, lab_job, run_job

    try:
        engine = recipe.build()
        import trainpad.engine.training  # noqa: F401  (torch and the loop, before the job comes)

        failure = None
    except Exception as exc:
        engine, failure = None, JobFailed.of(exc)
    try:
        server.send(_Ready())
        kind, spec, stop_path = server.recv()
    except (EOFError, OSError):  # the server went away before giving a job
        os._exit(0)
    if failure is not None:
        server.send(failure)
        os._exit(1)
    job = {"run": run_job, "evaluate": evaluate_job, "lab": lab_job}[kind]
    try:
        for event in job(spec, engine, StopFile(stop_path)):
            server.send(event)
    except (BrokenPipeError, EOFError):  # the server went away: nobody is left to tell
        pass
    server.close()
    os._exit(0)  # not a slow (and sometimes failing) interpreter shutdown with torch's threads about


if __name__ == "__main__":
    main()
