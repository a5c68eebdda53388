"""trainpad.runtime.threads: the start-up thread, OpenMP and allocator settings, and their env knobs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trainpad.engine.errors import ConfigError
from trainpad.runtime.threads import cgroup_cpu_limit, choose_wait_policy
from support import python_json

PROBE = (
    "import json, os, sys, trainpad.runtime.threads as t; applied = t.apply_runtime_settings(shared=sys.argv[1] == 'shared'); "
    "busy = t.machine_busy(); import torch; print(json.dumps({'applied': applied, 'busy': busy, "
    "'threads': torch.get_num_threads(), 'wait': os.environ.get('OMP_WAIT_POLICY')}))"
)


def probe(shared: bool = False, **env: str) -> dict:
    """Apply the settings in a fresh process (before torch is imported) and report."""
    import os

    full = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    full = {k: v for k, v in full.items() if not k.startswith("TRAINPAD_")} | env
    return python_json(PROBE, "shared" if shared else "alone", env=full)


def test_a_server_sleeps_waiting_threads_and_tunes_glibc():
    got = probe(shared=True)
    assert got["wait"] == "PASSIVE" and got["applied"]["omp_wait_policy"] == "PASSIVE"
    assert got["applied"]["malloc_tuned"] is (sys.platform.startswith("linux"))
    assert got["threads"] >= 1


def test_alone_the_wait_policy_follows_the_load():
    got = probe()
    assert got["wait"] == ("PASSIVE" if got["busy"] else None)


def test_the_load_decides_the_wait_policy(monkeypatch):
    from trainpad.runtime import threads as tuning

    monkeypatch.delenv("TRAINPAD_OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(tuning, "busy_fraction", lambda: 0.05)
    assert choose_wait_policy() is None  # idle: OpenMP's own, the fastest there
    assert choose_wait_policy(shared=True) == "PASSIVE"
    monkeypatch.setattr(tuning, "busy_fraction", lambda: 0.5)
    assert choose_wait_policy() == "PASSIVE"
    monkeypatch.setenv("TRAINPAD_OMP_WAIT_POLICY", "default")
    assert choose_wait_policy(shared=True) is None  # the knob wins


def test_a_cpu_bound_process_makes_the_machine_busy(tmp_path):
    import os

    from trainpad.runtime.threads import busy_fraction

    cpus = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None and quota < cpus:
        pytest.skip(f"a CPU quota of {quota:g} of {cpus} CPUs: this process's children cannot fill the machine")
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpus)]
    try:
        import time

        time.sleep(0.5)
        assert busy_fraction(0.3) >= 0.5
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    assert busy_fraction(0.0, stat) is None  # no time passed between the two readings
    assert busy_fraction(0.0, tmp_path / "missing") is None


def test_env_knobs_override():
    got = probe(TRAINPAD_THREADS="1", TRAINPAD_OMP_WAIT_POLICY="active", TRAINPAD_MALLOC_TUNING="0")
    assert got["threads"] == 1 and got["wait"] == "ACTIVE" and got["applied"]["malloc_tuned"] is False
    got = probe(TRAINPAD_OMP_WAIT_POLICY="default")
    assert got["wait"] is None and got["applied"]["omp_wait_policy"] == "default"


def test_bad_knobs_are_refused(monkeypatch):
    monkeypatch.setenv("TRAINPAD_OMP_WAIT_POLICY", "sometimes")
    with pytest.raises(ConfigError, match="auto, passive, active or default"):
        choose_wait_policy()


def test_cgroup_quota_is_read(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_cpu_limit(tmp_path) == 2.0


@pytest.mark.parametrize("command", [["-m", "trainpad.cli", "train", "--epochs", "1"], ["app.py"]])
@pytest.mark.parametrize("knob, value, message", [
    ("TRAINPAD_THREADS", "many", "TRAINPAD_THREADS='many' is not accepted: use a whole number of at least 1, or auto"),
    ("TRAINPAD_OMP_WAIT_POLICY", "sometimes", "TRAINPAD_OMP_WAIT_POLICY='sometimes' is not accepted: use auto, passive, active or default"),
])
def test_a_bad_knob_stops_the_cli_and_the_app_with_its_message(command, knob, value, message):
    import os

    from support import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINPAD_")} | {knob: value}
    out = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr, out.stderr
