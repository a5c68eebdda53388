"""The public plugin API: what ``from trainpad import ...`` offers is documented, and the
guide, the README and the example plugin use nothing else.

Names come from ``trainpad.__all__`` and the files as they are, so a name added to the
API, or an example added to the docs, is checked with no change here.
"""

from __future__ import annotations

import ast
import inspect
import re

import pytest

import trainpad
from source_reading import ROOT, parse, public_api_problems, python_blocks

PUBLIC = set(trainpad.__all__)
GUIDE = ROOT / "docs" / "plugins.md"


def pages() -> list:
    return [GUIDE, ROOT / "README.md", *sorted((ROOT / "examples").rglob("*.md"))]


def example_files() -> list:
    return sorted(p for p in (ROOT / "examples").rglob("*.py") if "build" not in p.parts)


# -- what trainpad exports ----------------------------------------------------------------------


@pytest.mark.parametrize("name", trainpad.__all__)
def test_every_exported_name_exists_and_is_documented(name):
    value = getattr(trainpad, name)  # lazy names import here
    if inspect.isclass(value) or inspect.isfunction(value):
        own = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
        assert own and own.strip(), f"trainpad.{name} has no docstring of its own"
    else:  # a value (the hookimpl marker, the version): a #: comment says what it is
        source = (ROOT / "core" / "__init__.py").read_text()
        assert re.search(rf"^#: .+\n{re.escape(name)} = ", source, flags=re.MULTILINE), f"add a `#:` comment above {name} in core/__init__.py"
    assert re.search(rf"`{re.escape(name)}\b", GUIDE.read_text()), f"docs/plugins.md does not mention `{name}`"


def test_all_has_no_duplicates_and_dir_lists_it():
    assert len(trainpad.__all__) == len(PUBLIC)
    assert PUBLIC <= set(dir(trainpad))


def test_importing_trainpad_stays_light():
    from support import python_json

    loaded = python_json("import json, sys, trainpad; print(json.dumps(sorted(m for m in ('torch', 'gradio', 'torchvision') if m in sys.modules)))")
    assert loaded == []


# -- what the docs and the example use ------------------------------------------------------------


def test_the_docs_show_python_to_check():
    blocks = [block for page in pages() for block in python_blocks(page)]
    assert len(blocks) >= 5 and any("from trainpad import" in code for _, code in blocks)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_in_the_docs_is_public(page):
    problems = []
    for line, code in python_blocks(page):
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            problems.append(f"the block at line {line} is not valid Python: {exc}")
            continue
        problems += [f"block at line {line}, {problem}" for problem in public_api_problems(tree, PUBLIC)]
    assert problems == [], f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_example_plugin_imports_only_the_public_api(path):
    problems = public_api_problems(parse(path), PUBLIC)
    assert problems == [], f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_check_catches_what_it_should():
    bad = ast.parse(
        "from core import hookimpl\nfrom trainpad.engine.data import InMemoryDataset\n"
        "from trainpad import Registry\nimport trainpad.web.app\nx = trainpad.engine\n"
    )
    assert len(public_api_problems(bad, PUBLIC)) == 5
    good = ast.parse("import trainpad\nfrom trainpad import Param, hookimpl\nfrom trainpad.testing import write_idx_dataset\nv = trainpad.__version__\n")
    assert public_api_problems(good, PUBLIC) == []
