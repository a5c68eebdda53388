"""Every benchmark script runs in --quick mode, so that none of them rots.

These check that the scripts work and print their ratio, never how fast anything is:
timings belong in docs/benchmarks.md, measured on a quiet machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
#: The issue's benchmarks 1-7, in order, then the others.
SCRIPTS = (
    "engine_overhead.py",
    "data_path.py",
    "time_to_accuracy.py",
    "predict.py",
    "evaluate.py",
    "startup.py",
    "ceiling.py",
    "runtime_settings.py",  # how trainpad.runtime.threads's settings were chosen
    "distributed.py",  # torchrun against one process
    "load_test.py",  # prediction latency with 1 and 25 clients, idle, training, the training queue flooded
    "memory_policy.py",  # what the web app's server keeps after a big request, per allocator policy
    "predict_inside.py",  # what the Predict tab's look inside the model adds to a prediction
    "loop_watch.py",  # what the loop view's hooks cost a training run
    "presets.py",  # the presets' accuracy and time beside the pytorch/examples recipe
    "spot_checks.py",  # what the Train tab's test curves cost
    "drawing.py",  # a stroke in the browser: a published page's answer, the Predict tab's pad against a plain gr.Sketchpad
    "lab.py",  # each Lab experiment's seconds (under 20 s on two cores), and `trainpad lab zero-grad --json`'s
)


def test_every_benchmark_script_is_there():
    found = {p.name for p in BENCH.glob("*.py") if not p.name.startswith("_")}
    assert found == set(SCRIPTS), "a benchmark script must be added to SCRIPTS, so that CI runs it"


@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_mode_runs_and_prints_a_ratio(script, tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(BENCH.parent),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert " ratio " in proc.stdout and "x" in proc.stdout, proc.stdout
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert result["ratio"] == result["ratio"]  # a number, not NaN
    assert result["machine"]["cpus"] >= 1
