"""The web app's memory policy: how much does the server keep after a big request, and at what cost?

trainpad tunes glibc's allocator to keep freed memory for the next training step
(``trainpad.runtime.threads.tune_malloc``); in a server that means the peak of any
request stays with the process.  The web app therefore (the candidate) keeps its many
threads to two heaps (``M_ARENA_MAX``) and hands free memory back after each big
request (``malloc_trim(0)``, ``trainpad.runtime.memory.release_memory``).  The
baseline is the same tuning without those two (glibc's default: up to 8 heaps a core,
nothing handed back); a third policy leaves glibc alone (``TRAINPAD_MALLOC_TUNING=0``).

Each policy gets a fresh ``python app.py`` on 127.0.0.1 and the same visit: five
predictions, a run of a wider model (width 48: ~0.4 GB of activations a batch of 1,000
at test time), an evaluation of it, and ten sessions loading a checkpoint (three with
``--quick``).  It prints
the server's resident memory after each step (``VmRSS``), its peak (``VmHWM``) and how
long the run took, for each policy; the policies alternate over ``--rounds``.

    python bench/memory_policy.py            # real MNIST when present
    python bench/memory_policy.py --quick    # synthetic data, one round
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from load_test import HOST, sketch_files, stop_server

#: How each policy starts the app: code run before ``trainpad.web.app.main``.
POLICIES = {
    "trim + 2 heaps (trainpad)": "",
    "tuned, 8 heaps a core, no trim (before)": (
        "import trainpad.runtime.memory as m, trainpad.runtime.threads as t\n"
        "m.release_memory = lambda: False\n"
        "t.SHARED_ARENAS = 8 * (os.cpu_count() or 1)\n"
    ),
    "glibc alone (TRAINPAD_MALLOC_TUNING=0)": "os.environ['TRAINPAD_MALLOC_TUNING'] = '0'\n",
}
#: The policies the ratio compares (all that --quick runs).
QUICK_POLICIES = ("trim + 2 heaps (trainpad)", "tuned, 8 heaps a core, no trim (before)")
LAUNCH = "import os, sys\n{patch}from trainpad.web.app import main\nsys.exit(main(['--host', '{host}', '--port', '{port}']))\n"


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def visit(url: str, pid: int, pictures: list[Path], checkpoint: Path, quick: bool) -> dict[str, float]:
    from gradio_client import Client, handle_file

    def settle() -> float:
        time.sleep(1.0)
        return status_mb(pid, "VmRSS:")

    row: dict[str, float] = {}
    client = Client(url, verbose=False, download_files=False)
    try:
        for picture in pictures[:5]:
            client.predict({"background": None, "layers": [], "composite": handle_file(picture)}, api_name="/predict")
        row["after predictions"] = settle()
        started = time.perf_counter()
        status = client.predict(
            epochs=1, batch_size=64, train_samples=512 if quick else 8192, model_mnist_cnn_width=48, model_mnist_cnn_hidden=64,
            api_name="/train",
        )[0]
        row["run seconds"] = time.perf_counter() - started
        assert str(status).startswith("**Done"), status
        row["after the run"] = settle()
        client.predict(samples=0, api_name="/evaluate")
        row["after evaluating it"] = settle()
        for _ in range(3 if quick else 10):
            other = Client(url, verbose=False, download_files=False)
            try:
                other.predict(handle_file(checkpoint), api_name="/load_checkpoint")
            finally:
                other.close()
        row["after checkpoint loads"] = settle()
        row["peak"] = status_mb(pid, "VmHWM:")
    finally:
        client.close()
    return row


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc/<pid>/status (Linux only)")
    rounds = _common.rounds(args, full=3, quick=1)
    from trainpad.web.shipped_model import PRETRAINED

    rows: dict[str, list[dict[str, float]]] = {name: [] for name in (QUICK_POLICIES if args.quick else POLICIES)}
    with tempfile.TemporaryDirectory(prefix="trainpad-memory-") as scratch:
        folder = Path(scratch)
        data = _common.data_dir(args, folder, train=8192, test=2000)
        pictures = sketch_files(folder)
        # --quick (CI's check that the script works) compares the two policies of the ratio
        policies = {name: POLICIES[name] for name in QUICK_POLICIES} if args.quick else POLICIES
        for _ in range(rounds):
            for name, patch in policies.items():
                port = _common.free_port()
                log = folder / "server.log"
                env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TRAINPAD_DATA_DIR": str(data), "TRAINPAD_LOAD_PLUGINS": ""}
                code = LAUNCH.format(patch=patch, host=HOST, port=port)
                with log.open("w") as out:
                    proc = subprocess.Popen([sys.executable, "-c", code], cwd=_common.ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
                try:
                    deadline = time.monotonic() + 120
                    while "running at" not in log.read_text():
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")
                        time.sleep(0.2)
                    row = {"after start-up": status_mb(proc.pid, "VmRSS:")}
                    row.update(visit(f"http://{HOST}:{port}/", proc.pid, pictures, PRETRAINED, args.quick))
                    rows[name].append(row)
                finally:
                    stop_server(proc)

    columns = list(next(iter(rows.values()))[0])
    print(f"memory of the web app's server (MB, medians of {rounds} round(s)), {os.cpu_count()} CPU(s), load {_common.load_average()}")
    print("  " + f"{'policy':42s}" + "".join(f"{c[:16]:>17s}" for c in columns))
    medians = {}
    for name, runs in rows.items():
        medians[name] = {c: statistics.median(r[c] for r in runs) for c in columns}
        print("  " + f"{name:42s}" + "".join(f"{medians[name][c]:17.1f}" for c in columns))
    base, cand = medians["tuned, 8 heaps a core, no trim (before)"], medians["trim + 2 heaps (trainpad)"]
    ratio = cand["after evaluating it"] / base["after evaluating it"]
    print(f"  ratio (kept after the evaluation, trainpad / before) {ratio:.2f}x: {cand['after evaluating it']:.0f} MB against "
          f"{base['after evaluating it']:.0f} MB ({base['after evaluating it'] - cand['after evaluating it']:.0f} MB given back); "
          f"the run took {cand['run seconds'] / base['run seconds']:.2f}x the time")
    if args.json:
        result = {"quick": args.quick, "ratio": ratio, "medians": medians, "rounds": rows, "machine": _common.machine()}
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
