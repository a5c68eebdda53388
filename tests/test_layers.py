"""The layers, read from the imports (with :mod:`ast`; nothing is imported).

``trainpad.engine`` imports no Gradio and nothing of the web app, the CLI or publishing; of the
runtime it may use ``trainpad.runtime.device``, which resolves the device a config names
(annotations may name anything).  ``trainpad.publish`` sits on the engine and knows nothing
of the web app, which uses it.  ``trainpad.runtime`` knows nothing of the web app.
Gradio is imported only in ``trainpad.web`` and the tab plugins.  The built-in plugins
that are not tabs import only the public face, as a third-party plugin does.  Nothing in
the web app, the tabs, the CLI or the example touches a run's internals (``.parts``).
"""

from __future__ import annotations

import ast

import pytest

import trainpad
from source_reading import ROOT, Imported, imports, module_name, parse, public_api_problems

GRADIO = ("gradio", "gradio_client")


def modules(folder: str, pattern: str = "*.py") -> list:
    return sorted((ROOT / folder).rglob(pattern))


def imports_of(path) -> list[Imported]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    return imports(parse(path), package)


def reaching(items: list[Imported], prefixes: tuple[str, ...], *, runtime_only: bool = False) -> list[str]:
    """The imports in ``items`` that reach a module under one of ``prefixes``."""
    return [
        str(item)
        for item in items
        if not (runtime_only and item.type_only)
        and any(target == p or target.startswith(p + ".") for target in item.targets for p in prefixes)
    ]


def rel(path) -> str:
    return str(path.relative_to(ROOT))


# -- the engine --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", modules("core/engine"), ids=rel)
def test_the_engine_imports_no_gradio_no_web_and_no_cli(path):
    items = imports_of(path)
    assert reaching(items, GRADIO + ("trainpad.web", "trainpad.cli", "trainpad.plugins")) == []
    # of the runtime, only the device: resolving the device a config names is the engine's job
    runtime = [str(i) for i in items if not i.type_only and any(t.startswith("trainpad.runtime") for t in i.targets)]
    allowed = {str(i) for i in items if i.module == "trainpad.runtime.device"}
    assert set(runtime) <= allowed, f"{rel(path)} uses the runtime beyond trainpad.runtime.device: {runtime}"


@pytest.mark.parametrize("path", modules("core/publish"), ids=rel)
def test_publishing_sits_on_the_engine_and_knows_nothing_of_the_web_app(path):
    # trainpad publish and the Predict tab's download share it; the web app may use it, never the reverse
    assert reaching(imports_of(path), GRADIO + ("trainpad.web", "trainpad.cli", "trainpad.plugins", "trainpad.runtime")) == []


def test_the_engine_never_uses_publishing():
    assert [rel(p) for p in modules("core/engine") if reaching(imports_of(p), ("trainpad.publish",))] == []


@pytest.mark.parametrize("path", modules("core/runtime"), ids=rel)
def test_the_runtime_knows_nothing_of_the_web_app(path):
    assert reaching(imports_of(path), GRADIO + ("trainpad.web", "trainpad.cli", "trainpad.plugins")) == []


def test_gradio_is_imported_only_by_the_web_app_and_the_tabs():
    places = [p for p in modules("core") + modules("plugins") if reaching(imports_of(p), GRADIO)]
    outside = [rel(p) for p in places if not (rel(p).startswith("core/web/") or p.name.endswith("_tab.py"))]
    assert places and outside == []


def test_the_public_face_and_settings_import_no_web_app():
    for name in ("__init__.py", "settings.py", "hookspecs.py", "testing.py"):
        assert reaching(imports_of(ROOT / "core" / name), GRADIO + ("trainpad.web", "trainpad.runtime"), runtime_only=True) == [], name


# -- plugins ---------------------------------------------------------------------------------------


def builtin_plugins() -> list:
    return [p for p in modules("plugins") if p.name != "__init__.py" and not p.name.endswith("_tab.py")]


@pytest.mark.parametrize("path", builtin_plugins(), ids=rel)
def test_builtin_plugins_that_are_not_tabs_import_only_the_public_face(path):
    # trainpad.settings too: their settings are declared there, as every TRAINPAD_* one is
    problems = public_api_problems(parse(path), set(trainpad.__all__), allowed_modules=("trainpad.settings",))
    assert problems == [], f"{rel(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "path", modules("core/web") + modules("plugins") + modules("examples") + [ROOT / "core" / "cli.py"], ids=rel
)
def test_nothing_outside_the_engine_touches_a_runs_internals(path):
    touched = [node.lineno for node in ast.walk(parse(path)) if isinstance(node, ast.Attribute) and node.attr == "parts"]
    assert touched == [], f"{rel(path)} reads .parts at lines {touched}: add a public property to TrainingRun"


def test_the_import_reader_sees_type_only_and_nested_imports():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gradio\n"
        "def f():\n    from trainpad.web import app\n"
    )
    found = {(i.module, i.name, i.type_only) for i in imports(tree, "trainpad.engine")}
    assert {("gradio", None, True), ("trainpad.web", "app", False)} <= found


def plugin_modules_of_the_tests() -> list:
    """The plugin modules of tests/plugins/ (not the loader tests' helper, which is no plugin)."""
    return [p for p in sorted((ROOT / "tests" / "plugins").glob("trainpad_test_*.py")) if p.name != "trainpad_test_support.py"]


@pytest.mark.parametrize("path", plugin_modules_of_the_tests(), ids=rel)
def test_the_test_plugins_are_written_as_a_plugin_author_would(path):
    problems = public_api_problems(parse(path), set(trainpad.__all__))
    assert problems == [], f"{rel(path)}:\n" + "\n".join(problems)


def module_level_imports(path) -> list[Imported]:
    """The imports run when the module is imported: those at its top (functions' and classes'
    bodies left out, and ``if TYPE_CHECKING:`` blocks, which never run)."""
    tree = parse(path)
    top = ast.Module(body=[node for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))], type_ignores=[])
    name = module_name(path)
    return [item for item in imports(top, name if path.name == "__init__.py" else name.rpartition(".")[0]) if not item.type_only]


def test_no_import_cycle_among_trainpad_modules():
    """A module of trainpad never needs, to be imported, a module that needs it back: a cycle
    breaks as soon as someone imports from the other end first."""
    files = {module_name(path): path for path in [*modules("core", "**/*.py"), *modules("plugins", "**/*.py")]}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = set()
        for item in module_level_imports(path):
            whole = f"{item.module}.{item.name}" if item.name else None
            edges.add(whole if whole in files else item.module)  # `from trainpad import settings` needs settings, not all of trainpad
        graph[name] = {edge for edge in edges if edge in files and edge != name}

    cycles, seen, path_now = [], set(), []

    def walk(node: str) -> None:
        path_now.append(node)
        for nxt in sorted(graph[node]):
            if nxt in path_now:
                cycles.append(path_now[path_now.index(nxt):] + [nxt])
            elif nxt not in seen:
                walk(nxt)
        path_now.pop()
        seen.add(node)

    for start in sorted(graph):
        if start not in seen:
            walk(start)
    assert len(graph) > 50 and graph["trainpad.web.app"]  # the reader sees the modules and their imports
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


# -- no hidden imports ---------------------------------------------------------------------------

#: Third-party packages that are cheap to import (trainpad imports pluggy itself).
LIGHT_PACKAGES = {"pluggy", "trainpad"}
#: Imports inside functions that close an import cycle at module level, and why they stay.
CYCLE_BREAKERS = {
    ("trainpad.engine.engine", "trainpad.runtime.device"): "the runtime's messages import trainpad, whose face imports the engine",
    ("trainpad.engine.engine", "trainpad.engine.export"): "export reads the engine's registry; importing trainpad imports the engine",
    ("trainpad.engine.engine", "trainpad.engine.lab.experiment"): "the Lab's modules import trainpad's face, which imports the engine",
    ("trainpad.engine.engine", "trainpad.engine.lab.runner"): "the Lab's modules import trainpad's face, which imports the engine",
    ("trainpad.engine.engine", "trainpad.engine.lab.script"): "the Lab's modules import trainpad's face, which imports the engine",
    ("trainpad.engine.plugin_loader", "trainpad"): "trainpad's face imports the engine, which loads plugins",
    ("trainpad.publish", "trainpad.publish.onnx_model"): "the package's face, and its modules that import it for their helpers",
    ("trainpad.publish", "trainpad.publish.runtime_files"): "the package's face, and its modules that import it for their helpers",
    ("trainpad.web.messages", "trainpad.web.i18n"): "i18n reads the forms' texts, and the forms raise messages' UserError",
}


def _closure(name: str, files: dict[str, object]) -> set[str]:
    """Everything importing ``name`` imports, at module level (top-level packages of third parties)."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parts = current.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in files]
        if current in files:
            for item in module_level_imports(files[current]):
                whole = f"{item.module}.{item.name}" if item.name else None
                todo.append(whole if whole in files else item.module)
    return seen


def test_no_module_of_trainpad_or_the_standard_library_is_imported_inside_a_function_without_a_reason():
    """An import inside a function hides a dependency (and, often, a cycle).  One stays only when it
    defers something heavy for start-up time (torch, Gradio... or a module of trainpad that imports
    them, or a name the public face imports lazily), in a tab (the CLI loads every plugin but never
    the web app), in a built-in plugin's component (copied into exported scripts as it is), inside
    ``try`` (optional), or where it breaks a cycle listed in :data:`CYCLE_BREAKERS`."""
    import sys

    files = {module_name(path): path for path in [*modules("core", "**/*.py"), *modules("plugins", "**/*.py")]}
    heavy = {name for name in files if any(m.split(".")[0] not in sys.stdlib_module_names | LIGHT_PACKAGES for m in _closure(name, files))}
    assert "trainpad.engine.data" in heavy and "trainpad.engine.message" not in heavy  # the reader sees torch behind a module
    hidden, breakers_used = [], set()
    for name, path in files.items():
        if name.startswith("trainpad.plugins."):
            continue  # tabs and components: see the docstring
        tree = parse(path)
        tried = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try) for b in t.body for node in ast.walk(b)}
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in tried:
                    continue
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for item in imports(ast.Module(body=[node], type_ignores=[]), package):
                    top = item.module.split(".")[0]
                    whole = f"{item.module}.{item.name}" if item.name and f"{item.module}.{item.name}" in files else item.module
                    if top in sys.stdlib_module_names:
                        hidden.append(f"{rel(path)}:{node.lineno} {item}")
                    elif top == "trainpad" and whole not in heavy and not (item.module == "trainpad" and item.name in trainpad._LAZY):
                        if (name, whole) in CYCLE_BREAKERS:
                            breakers_used.add((name, whole))
                        else:
                            hidden.append(f"{rel(path)}:{node.lineno} {item}")
    assert hidden == [], "import these at the top of the module:\n" + "\n".join(hidden)
    assert breakers_used == set(CYCLE_BREAKERS), f"no longer needed: {set(CYCLE_BREAKERS) - breakers_used}"
