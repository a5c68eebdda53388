"""Benchmark 6: start-up: ``import core``, and ``python app.py`` to its first HTTP answer.

Each measurement is a fresh process.  ``import core`` is compared with a bare
``python -c pass`` and checked not to import torch or Gradio.  The app is timed from
launch to the first ``200`` on ``/``, against a minimal Gradio app (one textbox) started
the same way, alternating.  Goal: the app answering in under 5 s.

    python bench/startup.py            # 5 rounds
    python bench/startup.py --quick    # 1 round
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import _common

GOAL_SECONDS = 5.0
MINIMAL_APP = (
    "import sys, gradio as gr\n"
    "with gr.Blocks() as demo:\n"
    "    gr.Textbox()\n"
    "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]), quiet=True)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_process(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_common.ROOT))
    return time.perf_counter() - start


def time_server(argv: list[str], port: int, timeout: float = 120.0) -> float:
    """Seconds from launch to the first HTTP 200 on ``/``; the server is then stopped."""
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=str(_common.ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{' '.join(argv)} did not answer within {timeout:.0f} s")
            time.sleep(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    n = _common.rounds(args, full=5, quick=1)

    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, core; print(sorted(m for m in ('torch', 'gradio', 'numpy', 'torchvision') if m in sys.modules))"],
        capture_output=True, text=True, check=True, cwd=str(_common.ROOT),
    ).stdout.strip()
    imports = _common.alternate(
        {"import core": lambda: time_process("import core"), "python -c pass": lambda: time_process("pass")}, n
    )
    app = _common.ROOT / "app.py"
    rows = dict(imports)
    notes = [f"heavy modules imported by `import core`: {heavy}"]
    extra: dict = {"heavy_imports": heavy}
    if app.exists():
        servers = _common.alternate(
            {
                "app.py to first answer": lambda: (lambda port: time_server([sys.executable, str(app), "--port", str(port)], port))(free_port()),
                "minimal Gradio app": lambda: (lambda port: time_server([sys.executable, "-c", MINIMAL_APP, str(port)], port))(free_port()),
            },
            n,
            warmup=not args.quick,
        )
        rows.update(servers)
        seconds = _common.median(servers["app.py to first answer"])
        met = seconds < GOAL_SECONDS
        notes.append(f"app.py answered in {seconds:.2f} s (goal < {GOAL_SECONDS:g} s: {'met' if met else 'NOT met'})")
        extra.update({"app_seconds": seconds, "app_goal_met": met})
        ratio = ("app.py to first answer", "minimal Gradio app")
    else:
        notes.append("app.py does not exist yet: only `import core` was measured")
        ratio = ("import core", "python -c pass")
    notes.append(f"`import core`: {_common.median(imports['import core']):.3f} s, bare interpreter "
                 f"{_common.median(imports['python -c pass']):.3f} s")
    _common.report(
        "6. start-up (seconds; ratio: how many times slower than the reference is the inverse)",
        rows,
        unit="s",
        ratio=ratio,
        higher_is_better=False,
        args=args,
        notes=notes,
        extra=extra,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
