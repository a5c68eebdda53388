"""The repository as a Hugging Face Space takes it: the Hub refuses a push whose binary
files are in plain Git, so every tracked binary file is marked for LFS (or Xet) in
``.gitattributes``; and the Space's front matter names the app it runs."""

from __future__ import annotations

import subprocess

import pytest

from support import ROOT


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: nothing is pushed from here")
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def is_binary(path) -> bool:
    """As Git and the Hub tell: a NUL byte in the first 8,000 bytes, or not UTF-8 text."""
    head = path.read_bytes()[:8000]
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3  # not just a character cut at the 8,000th byte
    return False


def lfs_filter(names: list[str]) -> dict[str, str]:
    out = subprocess.run(
        ["git", "check-attr", "-z", "filter", "--stdin"], cwd=ROOT, input="\0".join(names).encode(),
        capture_output=True, timeout=60, check=True,
    ).stdout.decode().split("\0")
    return {out[i]: out[i + 2] for i in range(0, len(out) - 2, 3)}


def test_every_tracked_binary_file_is_stored_through_lfs():
    binaries = [name for name in tracked_files() if is_binary(ROOT / name)]
    assert "plugins/pretrained/mnist-cnn.pt" in binaries and any(n.endswith(".png") for n in binaries)
    filters = lfs_filter(binaries)
    plain = [name for name in binaries if filters.get(name) != "lfs"]
    assert plain == [], f"add a pattern to .gitattributes for these binary files: {plain}"


def test_text_files_are_not_sent_to_lfs():
    texts = [name for name in tracked_files() if name.endswith((".py", ".md", ".toml", ".txt")) and not is_binary(ROOT / name)]
    filters = lfs_filter(texts)
    assert texts and [name for name in texts if filters.get(name) == "lfs"] == []


def test_the_space_front_matter_runs_app_py_with_the_gradio_it_was_built_for():
    import gradio

    front = (ROOT / "README.md").read_text().split("---\n")[1]
    fields = dict(line.split(": ", 1) for line in front.splitlines() if ": " in line and not line.startswith(" "))
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py" and (ROOT / fields["app_file"]).is_file()
    assert fields["sdk_version"].split(".")[0] == gradio.__version__.split(".")[0]
