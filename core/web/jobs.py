"""Where the web app's jobs run: one executor per app, as ``TRAINPAD_RUN_IN`` says.

``thread`` (the default) runs each run and evaluation in a thread of the server,
``process`` in a process of its own (:class:`~trainpad.runtime.executors.ProcessExecutor`),
``zerogpu`` in a ZeroGPU worker (:mod:`trainpad.web.zerogpu`; chosen by itself on a ZeroGPU
Space).  Handlers ask :func:`executor_for` and see only jobs and their events.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from trainpad.runtime.executors import make_executor, run_in

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine

_EXECUTORS: "weakref.WeakKeyDictionary[Engine, Any]" = weakref.WeakKeyDictionary()


def executor_for(engine: "Engine") -> Any:
    """The executor of the app built on ``engine`` (made on first use, from ``TRAINPAD_RUN_IN``)."""
    executor = _EXECUTORS.get(engine)
    if executor is None:
        place = run_in()
        if place == "zerogpu":
            from trainpad.web.zerogpu import ZeroGPUExecutor

            executor = ZeroGPUExecutor(engine)
        else:
            executor = make_executor(engine, place)
        _EXECUTORS[engine] = executor
    return executor


def device_choices() -> list[tuple[str, str]]:
    """The Device menu's ``(label, value)`` choices: what this machine has, best first; on a
    ZeroGPU Space, its GPU (which exists only in the workers that train) and their CPU."""
    if run_in() == "zerogpu":
        from spaces.config import Config  # the GPU the package says the Space has

        gpu = Config.zerogpu_cuda_device_name
        return [(f"ZeroGPU ({gpu})", "auto"), ("cpu (in the GPU worker)", "cpu")]
    from trainpad.runtime.device import available_devices

    return [(name, name) for name in available_devices()]


def close_executor(engine: "Engine") -> None:
    """End what the executor keeps waiting (a started process), as the app shuts down."""
    executor = _EXECUTORS.pop(engine, None)
    if executor is not None:
        executor.close()


__all__ = ["close_executor", "device_choices", "executor_for"]
