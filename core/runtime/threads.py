"""Thread and allocator settings for the CPU, chosen by measurement and applied at start-up.

:func:`apply_runtime_settings` is called once by the CLI and the web app before any
training.  It does two things, each measured in ``bench/`` (see ``docs/benchmarks.md``):

Threads
    As many as the CPUs this process may really use: the smallest of the CPUs it is
    allowed to run on (its affinity), the cgroup CPU quota (a container or a free
    Space often sees 16 or more CPUs but may use only 2), and torch's own default (the
    physical cores).  More threads than that makes every parallel operation wait for
    a thread the kernel has not scheduled.  ``TRAINPAD_THREADS=N`` sets it.

Waiting threads
    Between parallel operations OpenMP's threads spin for a while, waiting for work.
    On an idle machine that is the fastest: a step of the default model ran 1.3-1.4x
    faster than with threads that sleep at once.  On a machine whose cores are busy
    with other work, a spinning thread burns the time slice another thread needs:
    beside one CPU-bound process the same step ran 1.8-1.9x slower than with sleeping
    threads.  So ``OMP_WAIT_POLICY=PASSIVE`` (sleep at once) is set when the process
    is shared (the web app, whose requests compete with training for the cores) or
    the machine is already busy when it starts (other work uses half its CPU time or
    more, see :func:`machine_busy`); otherwise OpenMP's own policy is kept.  It must be set
    before torch is imported, so this is done only when torch is not imported yet and
    ``OMP_WAIT_POLICY`` is not set already; ``TRAINPAD_OMP_WAIT_POLICY`` (``passive``,
    ``active``, ``default`` or ``auto``, the default) chooses.

Allocator
    glibc's ``malloc`` hands big blocks (over 128 kB, such as a batch of activations)
    back to the system when they are freed and maps fresh pages for the next step, so
    every training step pays page faults.  Telling it never to use ``mmap`` for them
    (``M_MMAP_MAX=0``) and to keep freed memory (a high ``M_TRIM_THRESHOLD``) makes
    steps reuse the same memory: measured at 1.1-1.4x on small CPU models.  The cost:
    the process keeps its peak memory instead of returning it, so the web app hands
    freed memory back after each big request (:mod:`trainpad.runtime.memory`) and keeps
    its many threads to two heaps.  Only on glibc; ``TRAINPAD_MALLOC_TUNING=0`` turns
    it off.

Importing this module imports nothing heavy; when torch is not imported yet, the
thread count goes through ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` (set only when not
already set) so that torch starts with it.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from trainpad import settings

#: ``mallopt`` parameter numbers from glibc's ``malloc.h``.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
#: Heaps glibc may keep for the web app's threads (its default is 8 per core).
SHARED_ARENAS = 2
#: Freed memory below this much at the top of the heap is kept, not returned (1 GiB).
TRIM_THRESHOLD_BYTES = 1 << 30

_applied: dict[str, Any] | None = None


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup, in CPUs (``None``: no quota found)."""
    try:  # cgroup v2: "max 100000" or "200000 100000"
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max" and int(period) > 0:
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


def usable_cpus() -> int:
    """CPUs this process can actually use: affinity, cgroup quota, at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        count = min(count, max(1, math.ceil(limit)))
    return max(1, count)


def choose_threads() -> int | None:
    """``TRAINPAD_THREADS`` when set, else the usable CPUs when fewer than the machine's.

    ``None`` means torch's own default (its physical cores) is already right: nothing
    restricts this process to fewer CPUs than the machine has.
    """
    chosen = settings.get("TRAINPAD_THREADS")
    if chosen is not None:
        return chosen
    threads = usable_cpus()
    if "torch" in sys.modules:  # torch's default is the physical cores
        return min(threads, sys.modules["torch"].get_num_threads())
    return threads if threads < (os.cpu_count() or threads) else None


def _cpu_times(stat: Path) -> tuple[int, int]:
    """``(all, idle)`` clock ticks of every CPU so far, from the first line of ``/proc/stat``."""
    ticks = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:9]]
    return sum(ticks), ticks[3] + ticks[4]  # user nice system idle iowait irq softirq steal


def busy_fraction(interval: float = 0.1, stat: Path = Path("/proc/stat")) -> float | None:
    """The fraction of the machine's CPU time that other work is using now, measured
    over ``interval`` seconds (this process sleeps meanwhile); ``None`` where the
    kernel does not say (no ``/proc/stat``)."""
    try:
        total, idle = _cpu_times(stat)
        time.sleep(interval)
        total_after, idle_after = _cpu_times(stat)
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total_after - total
    return 1.0 - (idle_after - idle) / elapsed if elapsed > 0 else None


def machine_busy() -> bool:
    """Whether other work keeps at least half the CPUs busy right now.

    Measured from ``/proc/stat`` over a tenth of a second; elsewhere from the 1-minute
    load average (which lags: it still counts a job that ended a minute ago).
    """
    fraction = busy_fraction()
    if fraction is None:
        try:
            fraction = os.getloadavg()[0] / (os.cpu_count() or 1)
        except (AttributeError, OSError):
            return False
    return fraction >= 0.5


def choose_wait_policy(*, shared: bool = False) -> str | None:
    """``PASSIVE`` or ``ACTIVE``, or ``None`` for OpenMP's own (spin a while, then sleep).

    ``TRAINPAD_OMP_WAIT_POLICY`` decides when set to ``passive``, ``active`` or
    ``default``; with ``auto`` (or unset) it is ``PASSIVE`` for a ``shared`` process or
    a busy machine (:func:`machine_busy`), else OpenMP's own.
    """
    value = settings.get("TRAINPAD_OMP_WAIT_POLICY")
    if value == "auto":
        return "PASSIVE" if shared or machine_busy() else None
    return None if value == "default" else value.upper()


def tune_malloc(*, shared: bool = False) -> bool:
    """Make glibc keep freed memory for the next training step; ``False`` if not glibc.

    :param shared: the web app: its many worker threads share :data:`SHARED_ARENAS`
        heaps instead of one each (glibc's default allows 8 per core), so memory one
        request freed serves the next instead of sitting in a heap no thread uses; and the
        app returns free memory after big requests (:func:`trainpad.runtime.memory.release_memory`).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded: libc among them
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # only glibc has it (not musl)
    except (OSError, AttributeError):
        return False
    del gnu_get_libc_version
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok
    if shared:
        ok = mallopt(M_ARENA_MAX, SHARED_ARENAS) == 1 and ok
    return ok


def apply_runtime_settings(*, shared: bool = False, force: bool = False) -> dict[str, Any]:
    """Apply the thread and allocator settings once; returns what was applied.

    :param shared: the process serves others (the web app): their requests compete
        with training for the cores, so waiting threads sleep at once.

    Env knobs: ``TRAINPAD_THREADS`` (a number, or ``auto``),
    ``TRAINPAD_OMP_WAIT_POLICY`` (``auto``, ``passive``, ``active``, ``default``) and
    ``TRAINPAD_MALLOC_TUNING=0`` (leave glibc's allocator alone).  Call it before
    importing torch, so that the wait policy can still take effect.  Calling it again
    returns the first result unless ``force``.
    """
    global _applied
    if _applied is not None and not force:
        return _applied
    threads = choose_threads()
    explicit = settings.get("TRAINPAD_THREADS") is not None
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        threads, how = torch.get_num_threads(), "torch.set_num_threads"
    elif threads is not None and ("OMP_NUM_THREADS" not in os.environ or explicit):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        how = "OMP_NUM_THREADS"
    else:
        threads = os.environ.get("OMP_NUM_THREADS") or "torch's default (the physical cores)"
        how = "OMP_NUM_THREADS was set" if "OMP_NUM_THREADS" in os.environ else "unchanged"
    wait = choose_wait_policy(shared=shared)
    if wait is not None:
        if "torch" in sys.modules:
            wait = "unchanged (torch was imported first)"
        elif "OMP_WAIT_POLICY" in os.environ:
            wait = f"{os.environ['OMP_WAIT_POLICY']} (OMP_WAIT_POLICY was set)"
        else:
            os.environ["OMP_WAIT_POLICY"] = wait
    malloc = tune_malloc(shared=shared) if settings.get("TRAINPAD_MALLOC_TUNING") else False
    _applied = {"threads": threads, "threads_via": how, "omp_wait_policy": wait or "default", "malloc_tuned": malloc}
    return _applied


__all__ = ["apply_runtime_settings", "choose_threads", "choose_wait_policy", "machine_busy", "busy_fraction", "usable_cpus", "cgroup_cpu_limit", "tune_malloc"]
