"""Loading torchvision's datasets with a clear message when the files are not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from core.data import DataUnavailable, offline


def load_torchvision(name: str, root: Path, *, train: bool, files: Sequence[str]) -> Any:
    """``torchvision.datasets.<name>(root, train, download=...)``, downloading when allowed.

    :raises DataUnavailable: the files are missing and cannot be downloaded; the message
        names the folder and the files to put there.
    """
    import torchvision

    cls = getattr(torchvision.datasets, name)
    root = Path(root)
    raw = root / name / "raw"
    try:
        return cls(str(root), train=train, download=False)
    except RuntimeError:
        pass  # not there yet
    if not offline():
        try:
            return cls(str(root), train=train, download=True)
        except Exception as exc:  # no network, a proxy, a full disk...
            reason = f"downloading failed ({type(exc).__name__}: {exc})"
        else:  # pragma: no cover - returned above
            pass
    else:
        reason = "downloads are off (TRAINPAD_OFFLINE)"
    listing = "\n".join(f"  {raw / f}" for f in files)
    raise DataUnavailable(
        f"{name} is not in {raw} and {reason}.\n"
        f"Put these files there, uncompressed, or point --data-dir / TRAINPAD_DATA_DIR "
        f"at a folder that has {name}/raw/:\n{listing}"
    )
