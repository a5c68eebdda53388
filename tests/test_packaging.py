"""trainpad as others get it: the wheel, an install beside a project of its own, and a
plain checkout run the way a Hugging Face Space runs it.

Nothing is downloaded: the virtual environments made here reuse this environment's
packages through a ``.pth`` file that lists the folders holding them (plain paths, so
that the ``.pth`` files in those folders, trainpad's editable install among them, are
not run).  trainpad itself is then importable only from what a test puts there: its
wheel, or the checkout that ``app.py`` maps.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from support import ROOT, AppProcess, free_port, sketch_of

#: Every subprocess gets at most this long (seconds).
TIMEOUT = 300


def run(argv, *, env=None, cwd=None, check=True, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_checkout(dest: Path) -> Path:
    """The repository's tracked files (as ``git clone`` or a Space would have them) copied to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():  # a file deleted in the working tree is not copied
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:  # not a git checkout (an unpacked archive): everything but what is built or generated
        skip = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "artifacts", "runs", ".hypothesis")
        shutil.copytree(ROOT, dest, ignore=skip, dirs_exist_ok=True)
    return dest


def dependency_dirs() -> list[str]:
    """The site-packages folders that hold this environment's installed distributions."""
    found = {str(Path(dist.locate_file("")).resolve()) for dist in importlib.metadata.distributions()}
    return sorted(d for d in found if Path(d).name in ("site-packages", "dist-packages"))


def make_venv(home: Path) -> tuple[Path, dict[str, str]]:
    """A venv over this environment's packages, trainpad not among them.  Returns ``(python, env)``."""
    run([sys.executable, "-m", "venv", "--without-pip", home])
    python = home / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_dependencies.pth").write_text("".join(f"{folder}\n" for folder in dependency_dirs()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINPAD_", "PYTHON", "VIRTUAL_ENV", "GRADIO_"))}
    env.update(
        PATH=f"{home / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONDONTWRITEBYTECODE="1",
        PIP_NO_INDEX="1",  # offline: pip installs only what it is handed
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        TRAINPAD_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        OMP_NUM_THREADS="1",
    )
    return python, env


def importable(python: Path, env: dict[str, str], *names: str) -> dict[str, str | None]:
    """Where each module would be imported from in that interpreter (``None``: not importable)."""
    code = "import importlib.util, json, sys; print(json.dumps({n: getattr(importlib.util.find_spec(n), 'origin', None) for n in sys.argv[1:]}))"
    return json.loads(run([python, "-c", code, *names], env=env, cwd=python.parent).stdout)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "trainpad")


@pytest.fixture(scope="module")
def wheel(checkout, tmp_path_factory) -> Path:
    """trainpad's wheel, built from a copy of the checkout (so the build leaves nothing in the repository)."""
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools in this environment")
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "-w", out, checkout])
    (built,) = out.glob("trainpad-*.whl")
    return built


# -- the wheel ----------------------------------------------------------------------------


def test_the_wheel_installs_one_top_level_name_trainpad(wheel, checkout):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        top_level = archive.read(f"{dist_info}/top_level.txt").decode().split()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert {name.split("/")[0] for name in names} - {dist_info} == {"trainpad"}
    assert top_level == ["trainpad"]
    assert {"trainpad/py.typed", "trainpad/plugins/pretrained/mnist-cnn.pt"} <= set(names)
    # a published page's own files and its runtime, as package data
    page = {f"trainpad/publish/page/{p.name}" for p in (checkout / "core" / "publish" / "page").iterdir()}
    runtime = {f"trainpad/publish/onnxruntime-web/{p.name}" for p in (checkout / "core" / "publish" / "onnxruntime-web").iterdir()}
    assert "trainpad/publish/page/index.html" in page and page | runtime <= set(names), sorted((page | runtime) - set(names))
    # the web app's templates and its stylesheet, as package data
    web = {f"trainpad/web/{p.relative_to(checkout / 'core' / 'web').as_posix()}" for folder in ("templates", "static") for p in (checkout / "core" / "web" / folder).iterdir()}
    assert {"trainpad/web/templates/inside.html", "trainpad/web/static/trainpad.css"} <= web <= set(names), sorted(web - set(names))
    # every module of core/ and plugins/ is in it, under its installed name (a new subpackage is not forgotten)
    modules = {f"trainpad/{p.relative_to(checkout / 'core').as_posix()}" for p in (checkout / "core").rglob("*.py")}
    modules |= {f"trainpad/plugins/{p.relative_to(checkout / 'plugins').as_posix()}" for p in (checkout / "plugins").rglob("*.py")}
    assert modules and modules <= set(names), sorted(modules - set(names))
    # the console script only: no pytest11 entry point that would load into every project's pytest
    assert "[pytest11]" not in entry_points and "trainpad = trainpad.cli:main" in entry_points


# -- installed beside a project with its own core, plugins and app -------------------------

NEIGHBOUR = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "neighbour-site"
        version = "1.0"

        [tool.setuptools]
        packages = ["core", "plugins"]
        py-modules = ["app"]
    """,
    "core/__init__.py": 'OWNER = "neighbour-site"\n',
    "core/models.py": """
        from dataclasses import dataclass


        @dataclass
        class Article:
            title: str

            def slug(self) -> str:
                return self.title.lower().replace(" ", "-")
    """,
    "core/testing.py": """
        import pytest

        from core.models import Article


        @pytest.fixture
        def article():
            return Article("Hello World")
    """,
    "plugins/__init__.py": 'NAMES = ["comments", "feeds"]\n',
    "app.py": 'def main() -> str:\n    return "the neighbour\'s app"\n',
}

NEIGHBOUR_TESTS = {
    "conftest.py": 'pytest_plugins = ["core.testing"]\n',
    "test_site.py": """
        import app
        import core
        import plugins
        from core.models import Article


        def test_its_own_core(article):
            assert core.OWNER == "neighbour-site" and article.slug() == "hello-world"
            assert isinstance(article, Article)


        def test_its_own_plugins_and_app():
            assert plugins.NAMES == ["comments", "feeds"]
            assert app.main() == "the neighbour's app"
    """,
}

#: A project that uses trainpad's opt-in fixtures, as docs/plugins.md shows.
TRAINPAD_USER_TESTS = {
    "conftest.py": 'pytest_plugins = ["trainpad.testing"]\n',
    "test_uses_trainpad.py": """
        import core


        def test_the_fixtures_work_beside_the_neighbour(engine):
            assert "mnist-cnn" in engine.registry.names("model")
            assert core.OWNER == "neighbour-site"
    """,
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


def test_installed_beside_a_project_with_its_own_core_both_work(wheel, tmp_path):
    pytest.importorskip("setuptools", reason="installing the neighbour offline needs setuptools in this environment")
    python, env = make_venv(tmp_path / "venv")
    neighbour = write_tree(tmp_path / "neighbour-src", NEIGHBOUR)
    run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet", wheel, neighbour], env=env)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=env).stdout.strip())

    # one package each, from the venv: trainpad's wheel added no core, plugins or app
    where = importable(python, env, "trainpad", "core", "plugins", "app")
    assert where["trainpad"] == str(site / "trainpad" / "__init__.py")
    assert where["core"] == str(site / "core" / "__init__.py") and where["plugins"] == str(site / "plugins" / "__init__.py")
    assert where["app"] == str(site / "app.py")
    assert run([python, "-c", "import app; print(app.main())"], env=env, cwd=tmp_path).stdout.strip() == "the neighbour's app"

    # the neighbour's own tests pass, its conftest loading its core.testing (no -p no:trainpad needed)
    tests = write_tree(tmp_path / "runs" / "neighbour-tests", NEIGHBOUR_TESTS)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests], env=env, cwd=tmp_path / "runs", check=False)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr

    # and trainpad works beside it: its CLI, and its fixtures for a project that opts in
    listing = json.loads(run([python, "-m", "trainpad.cli", "plugins", "--json"], env=env, cwd=tmp_path / "runs").stdout)
    assert {"mnist", "mnist-cnn", "sgd", "nll"} <= {c["name"] for c in listing["components"]}
    assert not [p for p in listing["plugins"] if p["status"] == "failed"], listing["plugins"]
    tests = write_tree(tmp_path / "runs" / "trainpad-user-tests", TRAINPAD_USER_TESTS)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests], env=env, cwd=tmp_path / "runs", check=False)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr


# -- a plain checkout, as a Space runs it ------------------------------------------------------


def requirement_names() -> list[str]:
    """The distributions ``requirements.txt`` names (what a Space installs)."""
    names = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group(0))
    return names


def test_python_app_py_from_a_checkout_with_only_the_requirements_answers_and_predicts(checkout, tmp_path):
    import numpy as np
    from gradio_client import Client, handle_file
    from PIL import Image

    python, env = make_venv(tmp_path / "venv")
    names = requirement_names()
    assert {"torch", "gradio", "pluggy"} <= set(names)
    where = importable(python, env, "trainpad", *(name.replace("-", "_") for name in names))
    assert where.pop("trainpad") is None, "trainpad is importable in the Space-like venv: the test would prove nothing"
    assert all(where.values()), f"requirements.txt names packages this environment lacks: {where}"

    port = free_port()
    env.update(GRADIO_TEMP_DIR=str(tmp_path / "gradio"), TRAINPAD_DATA_DIR=str(tmp_path / "data"))
    app = AppProcess([python, "app.py", "--port", port], port=port, cwd=checkout, env=env, log_path=tmp_path / "app.log")
    try:
        app.wait_ready()
        # a drawn 1 (a bar down the middle of the pad), predicted by the shipped model
        digit = np.zeros((28, 28), dtype=np.uint8)
        digit[4:24, 13:16] = 255
        composite = tmp_path / "one.png"
        Image.fromarray(sketch_of(digit)["composite"], "RGBA").save(composite)
        client = Client(app.url, verbose=False, download_files=False)
        try:
            shown = client.predict({"background": None, "layers": [], "composite": handle_file(composite)}, api_name="/predict")
            label, note = shown[0], shown[2]  # the label, the picture the model saw, the model's line...
        finally:
            client.close()
        assert label["label"] == "1", label
        assert "shipped" in note
    finally:
        app.stop()
    # the app ran from the checkout's own folders
    assert "trainpad is running at" in app.log_tail()
