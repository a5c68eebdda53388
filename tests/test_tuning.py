"""core.tuning: the start-up thread, OpenMP and allocator settings, and their env knobs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.tuning import cgroup_cpu_limit, choose_wait_policy

PROBE = (
    "import json, os, core.tuning as t; applied = t.apply_runtime_settings(); import torch; "
    "print(json.dumps({'applied': applied, 'threads': torch.get_num_threads(), 'wait': os.environ.get('OMP_WAIT_POLICY')}))"
)


def probe(**env: str) -> dict:
    """Apply the settings in a fresh process (before torch is imported) and report."""
    import os

    full = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    full = {k: v for k, v in full.items() if not k.startswith("TRAINPAD_")} | env
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=full, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_sleep_waiting_threads_and_tune_glibc():
    got = probe()
    assert got["wait"] == "PASSIVE" and got["applied"]["omp_wait_policy"] == "PASSIVE"
    assert got["applied"]["malloc_tuned"] is (sys.platform.startswith("linux"))
    assert got["threads"] >= 1


def test_env_knobs_override():
    got = probe(TRAINPAD_THREADS="1", TRAINPAD_OMP_WAIT_POLICY="active", TRAINPAD_MALLOC_TUNING="0")
    assert got["threads"] == 1 and got["wait"] == "ACTIVE" and got["applied"]["malloc_tuned"] is False
    got = probe(TRAINPAD_OMP_WAIT_POLICY="default")
    assert got["wait"] is None and got["applied"]["omp_wait_policy"] == "default"


def test_bad_knobs_are_refused(monkeypatch):
    monkeypatch.setenv("TRAINPAD_OMP_WAIT_POLICY", "sometimes")
    with pytest.raises(ValueError, match="passive, active or default"):
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
