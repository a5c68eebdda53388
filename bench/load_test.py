"""Load test: is prediction still responsive while someone trains, and how much memory does the server use?

Starts ``python app.py`` on 127.0.0.1 (loopback only: it refuses any other address),
then, as browsers would through the HTTP API (gradio_client, files uploaded as the
Sketchpad uploads them):

1. measures prediction latency with the server idle (the baseline);
2. starts a training run in another session and, while it trains, measures prediction
   latency again from ``--clients`` sessions at once (the candidate);
3. stops the run, stops the server, and reports p50/p90/p99 of both, their ratio, and
   the server's peak resident memory (``VmHWM`` from ``/proc``).

Everything is bounded: a fixed number of requests, a wall-clock deadline
(``--seconds``), the server's own per-run time limit set to the same deadline, and
the server process killed on the way out whatever happens.

    python bench/load_test.py            # real MNIST when present, 200 predictions each way
    python bench/load_test.py --quick    # synthetic data, 30 predictions each way, well under a minute
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common

HOST = "127.0.0.1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in latencies]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (Linux ``VmHWM``), in MB; ``None`` elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sketch_files(folder: Path, count: int = 6) -> list[Path]:
    """800x800 RGBA composites of thick strokes, as the Sketchpad uploads them."""
    from PIL import Image

    from predict import sketches

    paths = []
    for i, value in enumerate(sketches(count)):
        path = folder / f"sketch-{i}.png"
        Image.fromarray(value["composite"], "RGBA").save(path)
        paths.append(path)
    return paths


def start_server(port: int, data: Path, seconds: float, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": HOST,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TRAINPAD_DATA_DIR": str(data),
        "TRAINPAD_MAX_RUN_SECONDS": str(max(5, int(seconds))),
        "TRAINPAD_LOAD_PLUGINS": "",
    }
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, str(_common.ROOT / "app.py"), "--host", HOST, "--port", str(port)],
        cwd=_common.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}")
        if "running at" in log.read_text():
            return proc
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("the server did not start within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)


def predict_many(url: str, pictures: list[Path], count: int, deadline: float, clients: int = 1) -> list[float]:
    """``count`` predictions spread over ``clients`` sessions; each latency in seconds."""
    from gradio_client import Client, handle_file

    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(1, count // clients)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        client = Client(url, verbose=False, download_files=False)
        try:
            for i in range(per_client):
                if time.monotonic() > deadline:
                    return
                picture = pictures[(offset + i) % len(pictures)]
                started = time.perf_counter()
                label = client.predict({"background": None, "layers": [], "composite": handle_file(picture)}, api_name="/predict")[0]
                elapsed = time.perf_counter() - started
                assert isinstance(label, dict) and label.get("label") is not None, label
                with lock:
                    latencies.append(elapsed)
        except BaseException as exc:  # reported below, after the other clients finish
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic() + 30))
    if errors:
        raise errors[0]
    return latencies


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=None, help="predictions each way (default 200, 30 with --quick)")
    p.add_argument("--clients", type=int, default=None, help="prediction sessions at once while training (default 4, 2 with --quick)")
    p.add_argument("--seconds", type=float, default=None, help="wall-clock limit of the whole test (default 300, 90 with --quick)")
    args = p.parse_args()
    requests = args.requests or (30 if args.quick else 200)
    clients = args.clients or (2 if args.quick else 4)
    seconds = args.seconds or (90.0 if args.quick else 300.0)
    started = time.monotonic()
    deadline = started + seconds

    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="trainpad-load-") as scratch:
        folder = Path(scratch)
        data = _common.data_dir(args, folder, train=4096, test=512)
        pictures = sketch_files(folder)
        port = _common.free_port()
        server = start_server(port, data, seconds, folder / "server.log")
        url = f"http://{HOST}:{port}/"
        trainer = None
        try:
            rss_start = peak_rss_mb(server.pid)
            predict_many(url, pictures, 4, deadline)  # warm up: the shipped model loads on first use
            idle = predict_many(url, pictures, requests, deadline)

            trainer = Client(url, verbose=False, download_files=False)
            # long enough to outlast the measurement (synthetic data is small); Stop ends it
            job = trainer.submit(epochs=5 if args.quick else 2, batch_size=8 if args.quick else 64, train_samples=0, api_name="/train")
            while time.monotonic() < deadline and not any(str(out[0]).startswith("**Epoch") for out in job.outputs()):
                if job.done():
                    raise SystemExit(f"the training run ended before it trained: {job.outputs()[-1:]}")
                time.sleep(0.1)
            training = predict_many(url, pictures, requests, deadline, clients=clients)
            still_training = not job.done()
            trainer.predict(api_name="/stop")
            try:
                final = job.result(timeout=max(5.0, deadline - time.monotonic() + 30))
            except Exception:  # Stop cancels the training event: it has no result of its own
                final = job.outputs()[-1] if job.outputs() else ("",)
            rss_peak = peak_rss_mb(server.pid)
        finally:
            if trainer is not None:
                trainer.close()
            stop_server(server)

    idle_s, training_s = summary(idle), summary(training)
    ratio = training_s["p50_ms"] / idle_s["p50_ms"] if idle_s["p50_ms"] else float("nan")
    print(f"load test on {HOST} ({'quick, synthetic data' if args.quick else 'full'}), {os.cpu_count()} CPU(s), load {_common.load_average()}")
    print(f"  prediction latency, idle:           p50 {idle_s['p50_ms']:7.1f} ms   p90 {idle_s['p90_ms']:7.1f} ms   p99 {idle_s['p99_ms']:7.1f} ms   ({idle_s['count']} requests)")
    print(
        f"  prediction latency, while training: p50 {training_s['p50_ms']:7.1f} ms   p90 {training_s['p90_ms']:7.1f} ms   "
        f"p99 {training_s['p99_ms']:7.1f} ms   ({training_s['count']} requests from {clients} sessions"
        + ("" if still_training else "; the run ended before the last of them") + ")"
    )
    print(f"  ratio (p50 while training / idle) {ratio:.2f}x")
    if rss_peak is not None:
        print(f"  server peak resident memory {rss_peak:.0f} MB (after start-up {rss_start:.0f} MB)")
    print(f"  run status at the end: {str(final[0])[:100]!r}; took {time.monotonic() - started:.0f} s")
    result = {
        "quick": args.quick,
        "idle": idle_s,
        "training": training_s,
        "ratio": ratio,
        "clients": clients,
        "still_training": still_training,
        "peak_rss_mb": rss_peak,
        "start_rss_mb": rss_start,
        "seconds": time.monotonic() - started,
        "machine": _common.machine(),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
