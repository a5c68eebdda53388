"""``app.py`` with torchvision's MNIST downloaded from a test mirror on 127.0.0.1.

    python tests/browser/serve_with_mirror.py http://127.0.0.1:PORT/ '{"train-images-idx3-ubyte.gz": "<md5>", ...}' --port N

torchvision's own download code runs as it is; only where it downloads from (its
``mirrors``) and the checksums it expects (its ``resources``, here those of the test's
own files) are the test's.  The arguments after these two go to the app.
"""

import json
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    mirror, md5, *rest = sys.argv[1:]
    md5 = json.loads(md5)
    import torchvision

    mnist = torchvision.datasets.MNIST
    mnist.mirrors = [mirror]
    mnist.resources = [(name, md5[name]) for name, _ in mnist.resources]
    sys.argv = [str(ROOT / "app.py"), *rest]
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")


if __name__ == "__main__":
    main()
