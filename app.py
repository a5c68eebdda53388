"""trainpad's web app, as ``python app.py`` and a Hugging Face Space start it.

::

    python app.py                          # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080
    python app.py --list-plugins           # JSON of plugins and components; no server

The app is :mod:`trainpad.web.app`; this file runs the one in the checkout it sits in,
installed or not.  A Space installs only ``requirements.txt``, so here the folders
``core/`` and ``plugins/`` get the names an install gives them: ``trainpad`` and
``trainpad.plugins``.
"""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def import_checkout() -> None:
    """Import ``trainpad`` from this checkout's ``core/`` and ``plugins/``, as installed."""
    for name, folder in (("trainpad", HERE / "core"), ("trainpad.plugins", HERE / "plugins")):
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    sys.modules["trainpad"].plugins = sys.modules["trainpad.plugins"]


if __name__ == "__main__":
    import_checkout()
    from trainpad.web.app import main

    sys.exit(main())
