"""Load test: do predictions stay fast for everyone, whatever else the server is asked to do?

Starts ``python app.py`` on 127.0.0.1 (loopback only: it refuses any other address),
trusting one proxy hop (``TRAINPAD_FORWARDED_HOPS=1``) so that the flood below can come
from many addresses, as it would on a Space.  Then, as browsers would through the HTTP
API (gradio_client, the drawing uploaded as the Sketchpad uploads it), it measures
prediction latency with 1 client and with 25 clients at once:

1. idle (the baseline);
2. while another session trains;
3. while one client floods the training queue: 64 training requests from 64 fresh
   session ids and addresses (before trainpad's own lines, this filled Gradio's one
   queue and every prediction was refused); it says how many were queued and refused.

It prints p50/p90/p99 of each, the ratio of each p50 to the idle one, any prediction
refused (there should be none), and the server's peak resident memory (``VmHWM``).
Everything is bounded: a fixed number of requests, a wall-clock deadline
(``--seconds``), the server's own run time limit, and the server killed on the way out.

    python bench/load_test.py            # real MNIST when present; 100 predictions for 1 client, 25 x 8
    python bench/load_test.py --quick    # synthetic data, a few predictions each way, well under a minute
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
import uuid
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
        "TRAINPAD_FORWARDED_HOPS": "1",  # the flood comes from many addresses, as through a Space's proxy
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


def predict_many(url: str, pictures: list[Path], per_client: int, deadline: float, clients: int = 1) -> tuple[list[float], list[str]]:
    """``per_client`` predictions from each of ``clients`` sessions at once (each its own
    address); each latency in seconds, and the errors of any refused."""
    from gradio_client import Client, handle_file

    latencies: list[float] = []
    refused: list[str] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        client = Client(url, verbose=False, download_files=False, headers={"X-Forwarded-For": f"198.51.100.{offset + 1}"})
        try:
            for i in range(per_client):
                if time.monotonic() > deadline:
                    return
                picture = pictures[(offset + i) % len(pictures)]
                started = time.perf_counter()
                try:
                    label = client.predict({"background": None, "layers": [], "composite": handle_file(picture)}, api_name="/predict")[0]
                except Exception as exc:  # a refusal: counted, not fatal
                    with lock:
                        refused.append(str(exc)[:200])
                    continue
                elapsed = time.perf_counter() - started
                assert isinstance(label, dict) and label.get("label") is not None, label
                with lock:
                    latencies.append(elapsed)
        except BaseException as exc:  # reported below, after the other clients finish
            failures.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic() + 30))
    if failures:
        raise failures[0]
    return latencies, refused


def flood_training(url: str, count: int) -> tuple[list[tuple[str, str]], list[str]]:
    """``count`` training requests from fresh session ids and addresses, joined at once
    (as a script would, no stream read); returns the ``(session, event)`` queued and the
    refusals' messages."""
    import httpx

    with httpx.Client(timeout=30) as http:
        config = http.get(url + "config").json()
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "train")
        defaults = [p.get("parameter_default") for p in http.get(url + "gradio_api/info").json()["named_endpoints"]["/train"]["parameters"]]
        queued, refused = [], []
        for i in range(count):
            session = uuid.uuid4().hex[:12]
            body = {"data": defaults, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
            response = http.post(url + "gradio_api/queue/join", json=body, headers={"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"})
            if response.status_code == 200:
                queued.append((session, response.json()["event_id"]))
            else:
                refused.append(f"{response.status_code}: {response.json().get('detail', response.text)[:120]}")
        return queued, refused


def cancel_all(url: str, queued: list[tuple[str, str]]) -> None:
    import httpx

    with httpx.Client(timeout=30) as http:
        config = http.get(url + "config").json()
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "train")
        for session, event_id in queued:
            http.post(url + "gradio_api/cancel", json={"session_hash": session, "fn_index": fn_index, "event_id": event_id})


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=None, help="predictions of the single client each way (default 100, 12 with --quick)")
    p.add_argument("--clients", type=int, default=None, help="sessions predicting at once in the crowded case (default 25, 6 with --quick)")
    p.add_argument("--per-client", type=int, default=None, help="predictions of each of those (default 8, 2 with --quick)")
    p.add_argument("--seconds", type=float, default=None, help="wall-clock limit of the whole test (default 600, 150 with --quick)")
    args = p.parse_args()
    single = args.requests or (12 if args.quick else 100)
    per_client = args.per_client or (2 if args.quick else 8)
    args.clients = args.clients or (6 if args.quick else 25)
    seconds = args.seconds or (150.0 if args.quick else 600.0)
    started = time.monotonic()
    deadline = started + seconds

    from gradio_client import Client

    results: dict[str, dict[str, float]] = {}
    refusals: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="trainpad-load-") as scratch:
        folder = Path(scratch)
        data = _common.data_dir(args, folder, train=4096, test=512)
        pictures = sketch_files(folder)
        port = _common.free_port()
        server = start_server(port, data, seconds, folder / "server.log")
        url = f"http://{HOST}:{port}/"
        trainer = None
        flood: tuple[list, list] = ([], [])
        try:
            rss_start = peak_rss_mb(server.pid)
            predict_many(url, pictures, 4, deadline)  # warm up: the shipped model loads on first use

            def measure(phase: str) -> None:
                for name, clients, count in (("1 client", 1, single), (f"{args.clients} clients", args.clients, per_client)):
                    latencies, refused = predict_many(url, pictures, count, deadline, clients=clients)
                    results[f"{phase}, {name}"] = summary(latencies)
                    refusals[f"{phase}, {name}"] = refused

            measure("idle")
            trainer = Client(url, verbose=False, download_files=False, headers={"X-Forwarded-For": "192.0.2.1"})
            # long enough to outlast the measurements (synthetic data is small); Stop ends it
            job = trainer.submit(epochs=5 if args.quick else 10, batch_size=1 if args.quick else 64, train_samples=0, api_name="/train")
            while time.monotonic() < deadline and not any(str(out[0]).startswith("**Epoch") for out in job.outputs()):
                if job.done():
                    raise SystemExit(f"the training run ended before it trained: {job.outputs()[-1:]}")
                time.sleep(0.1)
            measure("training")
            flood = flood_training(url, 64)
            measure("training, queue flooded")
            still_training = not job.done()
            cancel_all(url, flood[0])
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

    idle = {name.split(", ")[-1]: row for name, row in results.items() if name.startswith("idle")}
    print(f"load test on {HOST} ({'quick, synthetic data' if args.quick else 'full'}), {os.cpu_count()} CPU(s), load {_common.load_average()}")
    print(f"  {'prediction latency':38s} {'p50':>9s} {'p90':>9s} {'p99':>9s}  {'vs idle':>7s}  requests")
    for name, row in results.items():
        base = idle.get(name.split(", ")[-1], row)
        ratio = row["p50_ms"] / base["p50_ms"] if base["p50_ms"] else float("nan")
        refused = f", {len(refusals[name])} refused" if refusals[name] else ""
        print(f"  {name:38s} {row['p50_ms']:7.1f}ms {row['p90_ms']:7.1f}ms {row['p99_ms']:7.1f}ms  {ratio:6.2f}x  {row['count']}{refused}")
    queued, refused = flood
    flooded, alone = results.get("training, queue flooded, 1 client"), idle.get("1 client")
    ratio = flooded["p50_ms"] / alone["p50_ms"] if flooded and alone and alone["p50_ms"] else float("nan")
    print(f"  ratio (p50 of 1 client while the queue is flooded / idle) {ratio:.2f}x")
    print(f"  the flood: {len(queued)} of 64 training requests queued, {len(refused)} refused: {refused[0] if refused else '-'}")
    if rss_peak is not None:
        print(f"  server peak resident memory {rss_peak:.0f} MB (after start-up {rss_start:.0f} MB)")
    print(
        f"  run status at the end: {str(final[0])[:100]!r}"
        + ("" if still_training else " (the run ended before the last measurement)")
        + f"; took {time.monotonic() - started:.0f} s"
    )
    result = {
        "quick": args.quick,
        "latency": results,
        "ratio": ratio,
        "refused_predictions": {name: len(r) for name, r in refusals.items()},
        "flood": {"queued": len(queued), "refused": len(refused), "message": refused[0] if refused else None},
        "still_training": still_training,
        "peak_rss_mb": rss_peak,
        "start_rss_mb": rss_start,
        "seconds": time.monotonic() - started,
        "machine": _common.machine(),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 1 if any(refusals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
