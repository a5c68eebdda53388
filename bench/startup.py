"""Benchmark 6: start-up: ``import trainpad``, and ``python app.py`` to its first HTTP answer.

Each measurement is a fresh process.  ``import trainpad`` is compared with a bare
``python -c pass`` and checked not to import torch or Gradio.  The app is timed from
launch to the first ``200`` on ``/``, against a minimal Gradio app (one textbox) started
the same way, alternating.  Goal: the app answering in under 5 s.  The app answers before
torch is imported and then imports it, and loads the shipped model, in the background: the
time until that is done is printed too.

    python bench/startup.py            # 5 rounds
    python bench/startup.py --quick    # 1 round
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import _common

GOAL_SECONDS = 5.0
MINIMAL_APP = (
    "import sys, gradio as gr\n"
    "with gr.Blocks() as demo:\n"
    "    gr.Textbox()\n"
    "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]), quiet=True)\n"
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_process(code: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python -c code``."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_common.ROOT))
    return time.perf_counter() - start, children_cpu() - cpu


#: What app.py logs once its background warm-up (torch, the shipped model) is done.
READY_MARKER = b"torch and the shipped model ready"


def time_server(argv: list[str], timeout: float = 120.0, ready_marker: bytes | None = None) -> tuple[float, float, float | None]:
    """Seconds from launch to the first HTTP 200 on ``/`` and the CPU seconds the server used
    (counted until it is stopped, right after answering, or after ``ready_marker`` appears
    in its log), and the seconds from launch to that line (``None`` without a marker).
    A free port is appended to ``argv``."""
    port = _common.free_port()
    argv = [*argv, str(port)]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    cpu = children_cpu()
    start = time.perf_counter()
    answered = ready = None
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, cwd=str(_common.ROOT), env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        answered = time.perf_counter() - start
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{' '.join(argv)} did not answer within {timeout:.0f} s")
            time.sleep(0.05)
        while ready_marker is not None:
            log.seek(0)
            if ready_marker in log.read():
                ready = time.perf_counter() - start
                break
            if proc.poll() is not None or time.perf_counter() - start > timeout:
                raise RuntimeError(f"{' '.join(argv)} never logged {ready_marker.decode()!r}")
            time.sleep(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return answered, children_cpu() - cpu, ready


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    n = _common.rounds(args, full=5, quick=1)

    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, core; print(sorted(m for m in ('torch', 'gradio', 'numpy', 'torchvision') if m in sys.modules))"],
        capture_output=True, text=True, check=True, cwd=str(_common.ROOT),
    ).stdout.strip()
    imports = _common.alternate(
        {"import trainpad": lambda: time_process("import trainpad"), "python -c pass": lambda: time_process("pass")}, n
    )
    app = _common.ROOT / "app.py"
    rows = dict(imports)
    cpu_rows = dict(_common.CPU_ROWS)
    notes = [f"heavy modules imported by `import trainpad`: {heavy}"]
    extra: dict = {"heavy_imports": heavy}
    if app.exists():
        readies: list[float] = []

        def app_run() -> tuple[float, float]:
            answered, cpu, ready = time_server([sys.executable, str(app), "--port"], ready_marker=READY_MARKER)
            readies.append(ready)
            return answered, cpu

        def minimal_run() -> tuple[float, float]:
            return time_server([sys.executable, "-c", MINIMAL_APP])[:2]

        servers = _common.alternate({"app.py to first answer": app_run, "minimal Gradio app": minimal_run}, n, warmup=not args.quick)
        rows.update(servers)
        rows["app.py to torch and model ready"] = readies[-n:]  # the timed rounds, not the warm-up
        cpu_rows = dict(_common.CPU_ROWS)
        seconds = _common.median(servers["app.py to first answer"])
        ready = _common.median(readies[-n:])
        met = seconds < GOAL_SECONDS
        notes.append(f"app.py answered in {seconds:.2f} s (goal < {GOAL_SECONDS:g} s: {'met' if met else 'NOT met'}); "
                     f"torch and the shipped model were ready, in the background, {ready:.2f} s after launch")
        notes.append("app.py's CPU seconds include that background warm-up")
        extra.update({"app_seconds": seconds, "app_goal_met": met, "ready_seconds": ready})
        ratio = ("app.py to first answer", "minimal Gradio app")
    else:
        notes.append("app.py does not exist yet: only `import trainpad` was measured")
        ratio = ("import trainpad", "python -c pass")
    notes.append(f"`import trainpad`: {_common.median(imports['import trainpad']):.3f} s, bare interpreter "
                 f"{_common.median(imports['python -c pass']):.3f} s")
    _common.report(
        "6. start-up (seconds; ratio: how many times slower than the reference is the inverse)",
        rows,
        unit="s",
        ratio=ratio,
        higher_is_better=False,
        args=args,
        notes=notes,
        cpu_rows=cpu_rows,
        cpu_unit="CPU-s",
        extra=extra,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
