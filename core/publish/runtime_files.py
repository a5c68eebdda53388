"""The ONNX Runtime Web files a published page runs its model with, vendored and pinned.

A published page needs no network beyond its own folder, so the runtime travels with it:
the npm package ``onnxruntime-web`` at the version in ``onnxruntime-web/VENDORED.json``,
of which only two files are kept:

- ``ort.wasm.bundle.min.mjs``: the JavaScript API with the WebAssembly loader bundled in
  (CPU only: no WebGL, WebGPU or WebNN code);
- ``ort-wasm-simd-threaded.wasm``, gzipped (``.wasm.gz``, 3.8 MB instead of 14.8): the only
  WebAssembly build of the CPU backend the package ships.  Without cross-origin isolation
  (a static Space has none) it runs on one thread, which is all a small model needs; the
  page unpacks it with the browser's ``DecompressionStream`` and hands it to the runtime as
  ``env.wasm.wasmBinary``.

``LICENSE`` (MIT, Microsoft) sits beside them; the npm package itself ships none.
``VENDORED.json`` records the package's version, its tarball's integrity hash as the npm
registry published it, and the SHA-256 of every file kept (for the WebAssembly file, of the
file as npm has it and of the gzipped copy): :func:`check` verifies them, publishing calls
it, and a test does too.

To move to another version (needs ``npm``, which reaches the registry)::

    python -m trainpad.publish.runtime_files --refresh 1.31.1

It runs ``npm pack onnxruntime-web@VERSION`` in a temporary folder, checks the tarball
against the registry's integrity hash, copies the two files (gzipping the WebAssembly
deterministically) and rewrites ``VENDORED.json``.  Then run the tests: the browser tests
load the page with the new runtime.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trainpad.engine.errors import TrainpadError

#: Where the vendored files are.
FOLDER = Path(__file__).resolve().parent / "onnxruntime-web"
MANIFEST = FOLDER / "VENDORED.json"
PACKAGE = "onnxruntime-web"
#: The files kept from the npm package: (path in the tarball, name here, gzipped here).
KEPT = (
    ("package/dist/ort.wasm.bundle.min.mjs", "ort.wasm.bundle.min.mjs", False),
    ("package/dist/ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.wasm.gz", True),
)
#: Copied too, and never part of npm's package.
LICENSE = "LICENSE"


class RuntimeFilesError(TrainpadError):
    """The vendored ONNX Runtime Web files are missing or not the ones recorded."""


@dataclass(frozen=True)
class RuntimeFiles:
    """The vendored runtime: its version and its files (names, in :data:`FOLDER`)."""

    version: str
    files: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return FOLDER


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check() -> RuntimeFiles:
    """The vendored files, each checked against ``VENDORED.json``.

    :raises RuntimeFilesError: a file missing or changed (an install that lost its package
        data, a checkout without its LFS files, or a hand edit).
    """
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeFilesError(f"the ONNX Runtime Web files are missing from this install ({MANIFEST.name}: {exc})") from None
    for name, record in manifest["files"].items():
        path = FOLDER / name
        try:
            data = path.read_bytes()
        except OSError:
            raise RuntimeFilesError(f"the ONNX Runtime Web file {name} is missing from this install; reinstall trainpad") from None
        if sha256(data) != record["sha256"]:
            raise RuntimeFilesError(
                f"the ONNX Runtime Web file {name} is not the one recorded in {MANIFEST.name} "
                "(a Git LFS pointer instead of the file? run `git lfs pull`)"
            )
    return RuntimeFiles(manifest["version"], (*manifest["files"], LICENSE))


def refresh(version: str, *, npm: str = "npm") -> dict:
    """Vendor ``onnxruntime-web@version`` from the npm registry (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="trainpad-ort-") as scratch:
        packed = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{version}", "--json"], cwd=scratch, capture_output=True, text=True, timeout=600, check=True
        )
        info = json.loads(packed.stdout)[0]
        tarball = (Path(scratch) / info["filename"]).read_bytes()
    algorithm, _, digest = info["integrity"].partition("-")
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != digest:
        raise RuntimeFilesError(f"the npm tarball of {PACKAGE}@{version} does not match the registry's integrity hash")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, name, packed_here in KEPT:
            data = archive.extractfile(member).read()
            stored = gzip.compress(data, compresslevel=9, mtime=0) if packed_here else data
            (FOLDER / name).write_bytes(stored)
            files[name] = {"from": member, "sha256": sha256(stored)}
            if packed_here:
                files[name].update(gzip=True, sha256_unpacked=sha256(data))
    manifest = {
        "package": PACKAGE,
        "version": info["version"],
        "tarball": f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{info['version']}.tgz",
        "integrity": info["integrity"],
        "license": f"MIT, {LICENSE} (from https://github.com/microsoft/onnxruntime/blob/v{info['version']}/LICENSE)",
        "files": files,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainpad.publish.runtime_files", description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", metavar="VERSION", help="vendor this version of onnxruntime-web (runs npm pack)")
    args = parser.parse_args(argv)
    if args.refresh:
        manifest = refresh(args.refresh)
        print(f"vendored {PACKAGE} {manifest['version']}: {', '.join(manifest['files'])} in {FOLDER}")
    runtime = check()
    print(f"{PACKAGE} {runtime.version}: {', '.join(runtime.files)} match {MANIFEST.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
