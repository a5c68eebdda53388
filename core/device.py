"""Choosing the device to train on."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """The devices this machine offers, best first: ``cuda``, ``mps``, ``cpu``."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; a named device must exist.

    :raises ValueError: for an unknown or absent device, saying which ones exist.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    base = name.split(":", 1)[0]
    if base not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)}")
    if base not in available_devices():
        raise ValueError(f"device {name!r} is not available here; available: {', '.join(available_devices())}")
    return torch.device(name)
