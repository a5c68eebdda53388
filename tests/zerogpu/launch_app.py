"""``python app.py`` as a ZeroGPU Space runs it, on a machine without a GPU (for the tests).

Run with ``SPACES_ZERO_GPU=true`` and ``SPACES_ZERO_DEVICE_API_URL`` pointing at the
emulated device API (``device_api.py``).  The real ``spaces`` package is imported first,
as on a Space, and patches torch; the one thing that cannot happen here is the worker's
CUDA start-up (``spaces.zero.torch.init`` makes a CUDA tensor, ``move`` moves packed
tensors to the GPU): those two become no-ops, so the forked worker runs as it would and
trainpad's job inside it finds no CUDA and trains on the CPU.
"""

import faulthandler
import runpy
import signal
import sys
from pathlib import Path

import spaces  # noqa: F401  (ZeroGPU mode: torch patched, launch hooked, before the app imports anything)
import spaces.zero.torch as zerogpu_torch

zerogpu_torch.init = lambda nvidia_uuid: None
zerogpu_torch.move = lambda callback=None: None

faulthandler.register(signal.SIGUSR1, all_threads=True)  # a hung test can ask the app where it is

APP = Path(__file__).resolve().parents[2] / "app.py"
sys.argv = [str(APP), *sys.argv[1:]]
runpy.run_path(str(APP), run_name="__main__")
