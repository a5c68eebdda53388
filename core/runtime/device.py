"""Choosing the device to train on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from trainpad.engine.errors import shown
from trainpad.engine.message import msg

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

#: Present wherever a GPU driver that torch could use is loaded: NVIDIA's (also in
#: containers given a GPU), AMD's ROCm (torch calls it ``cuda`` too) and WSL's.
GPU_DRIVER_PATHS = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def might_have_gpu() -> bool:
    """False when this machine certainly has no GPU that torch could use.

    Asking torch means importing it (2-3 s); the app asks at start-up, to fill the
    Device menu, so a machine with no GPU driver and not a Mac is answered from here.
    """
    return sys.platform == "darwin" or any(Path(path).exists() for path in GPU_DRIVER_PATHS)


def available_devices() -> list[str]:
    """The devices this machine offers, best first: ``cuda``, ``mps``, ``cpu``."""
    if not might_have_gpu():
        return ["cpu"]
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def device_name(name: str | None) -> str:
    """``name`` as a device trainpad knows: ``auto``, ``cpu``, ``cuda``, ``mps``, or one of
    these with an index (``cuda:1``), lower-cased.  Whether this machine has it is
    :func:`resolve_device`'s question: an exported script may be meant for another machine.

    :raises ValueError: for any other text, quoting a few dozen characters of it.
    """
    name = (name or "auto").strip().lower()
    base, colon, index = name.partition(":")
    if base not in DEVICE_CHOICES or (colon and (base == "auto" or not index.isdigit() or len(index) > 3)):
        raise ValueError(msg("unknown device {name}; use one of {choices}", name=shown(name), choices=', '.join(DEVICE_CHOICES)))
    return name


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; a named device must exist.

    :raises ValueError: for an unknown or absent device, saying which ones exist.
    """
    import torch

    name = device_name(name)
    if name == "auto":
        return torch.device(available_devices()[0])
    if name.split(":", 1)[0] not in available_devices():
        raise ValueError(msg("device {name} is not available here; available: {choices}", name=f"{name!r}", choices=', '.join(available_devices())))
    return torch.device(name)
