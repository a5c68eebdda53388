"""Giving memory back to the system after a big request, and reading what the process holds.

:func:`trainpad.runtime.threads.tune_malloc` makes glibc keep freed memory for the
next training step (faster steps), so after an evaluation of a big model or a long run
the process would keep its peak: on a shared 16 GB Space that is memory other users
cannot have.  The web app therefore calls :func:`release_memory` when a request that
allocated a lot ends (a run, an evaluation, a checkpoint load): glibc's
``malloc_trim(0)`` returns the free pages of every heap to the system, the middle of
the heap included, and costs a few milliseconds.  Training itself keeps the tuning.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from pathlib import Path

_lock = threading.Lock()
_trim = None


def _malloc_trim():
    global _trim
    if _trim is None:
        _trim = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None)
                libc.gnu_get_libc_version  # noqa: B018  (only glibc has malloc_trim)
                trim = libc.malloc_trim
                trim.argtypes = [ctypes.c_size_t]
                trim.restype = ctypes.c_int
                _trim = trim
            except (OSError, AttributeError):
                pass
    return _trim


def release_memory() -> bool:
    """Return freed heap memory to the system (glibc ``malloc_trim(0)``).

    :return: whether anything could be returned (``False`` where there is no glibc).
    """
    trim = _malloc_trim()
    if not trim:
        return False
    with _lock:  # one trim at a time: each walks every heap
        return bool(trim(0))


def resident_bytes(pid: int | str = "self") -> int | None:
    """The resident memory of a process (``VmRSS`` in ``/proc/<pid>/status``), in bytes."""
    return _status_field(pid, "VmRSS:")


def peak_resident_bytes(pid: int | str = "self") -> int | None:
    """The most resident memory the process ever had (``VmHWM``), in bytes."""
    return _status_field(pid, "VmHWM:")


def _status_field(pid: int | str, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


__all__ = ["release_memory", "resident_bytes", "peak_resident_bytes"]
