"""Where the web app's jobs run: one executor per app, as ``TRAINPAD_RUN_IN`` says.

``thread`` (the default) runs each run and evaluation in a thread of the server,
``process`` in a process of its own (:class:`~trainpad.runtime.executors.ProcessExecutor`),
``zerogpu`` in a ZeroGPU worker (:mod:`trainpad.web.zerogpu`; chosen by itself on a ZeroGPU
Space).  The app makes one (:class:`trainpad.web.services.App`) and hands it to the handlers,
which see only jobs and their events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainpad.runtime.device import available_devices
from trainpad.runtime.executors import make_executor, run_in
from trainpad.web.zerogpu import ZeroGPUExecutor

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine

def make_job_executor(engine: "Engine") -> Any:
    """An executor for ``engine``'s jobs, where ``TRAINPAD_RUN_IN`` says (on a ZeroGPU Space, ZeroGPU's)."""
    place = run_in()
    if place == "zerogpu":

        return ZeroGPUExecutor(engine)
    return make_executor(engine, place)


def device_choices() -> list[tuple[str, str]]:
    """The Device menu's ``(label, value)`` choices: what this machine has, best first; on a
    ZeroGPU Space, its GPU (which exists only in the workers that train) and their CPU."""
    if run_in() == "zerogpu":
        from spaces.config import Config  # the GPU the package says the Space has

        gpu = Config.zerogpu_cuda_device_name
        return [(f"ZeroGPU ({gpu})", "auto"), ("cpu (in the GPU worker)", "cpu")]

    return [(name, name) for name in available_devices()]


__all__ = ["device_choices", "make_job_executor"]
