"""Sizes a maintainer can hold in their head: no module over 400 lines and no function over
60, but for the few listed here, each with the reason it is allowed and, where it is a debt,
what would pay it.  A new offender fails; so does an entry that no longer offends (remove it:
the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

MODULE_LINES = 400
FUNCTION_LINES = 60

#: Modules allowed over :data:`MODULE_LINES`, and why.
LONG_MODULES = {
    "core/web/i18n_ko.py": "a table: the Korean catalog, one entry per key",
    "core/web/train_handler.py": "debt: the Train tab's handler (start, the run's follower, the runs table); "
    "its run follower and its runs-table actions are to move into modules of their own",
    "core/engine/training.py": "debt: TrainingRun and its step's parts (written once since issue 24); the spot-check "
    "schedule and the distributed agreement could move out",
    "core/cli.py": "debt: one module per subcommand (train, evaluate, predict, lab, export, publish) would pay it",
    "plugins/train_tab.py": "debt: the Train tab, a function per screen and per event; its screens (the form, the runs "
    "section, the loop view) could be modules of their own",
    "plugins/lab_tab.py": "debt: the Lab tab, a function per screen and per event; its filter panel could be a module",
    "core/engine/engine.py": "debt: the engine's face (plugins, components, runs, evaluation, checkpoints); "
    "build_run's assembly could move beside TrainingRun",
    "core/engine/export.py": "reading a component's source and writing it out is one algorithm, its helpers together",
    "core/web/sessions.py": "debt: the session and the store with its memory budget; the budget could move out",
    "core/runtime/executors.py": "the three places a job runs (thread, process, and their shared follower) side by side",
}

#: Functions allowed over :data:`FUNCTION_LINES`, and why.
LONG_FUNCTIONS = {
    "core/cli.py:build_parser": "a table: argparse's declaration of every subcommand and flag",
    "core/engine/engine.py:build_run": "debt: the run assembled in the tutorial's order; its optimizer-and-loss and "
    "RunParts steps could be functions",
    "core/engine/engine.py:startup": "debt: plugins loaded, components registered, failures recorded; one function a step",
    "core/engine/evaluation.py:evaluate": "debt: the evaluation loop with its time budget and its answers kept",
    "plugins/lab_conv.py:conv": "an experiment a learner reads top to bottom (the Lab shows its code)",
    "core/engine/lab/script.py:export_experiment": "debt: the script's parts, then its text; the text could be a template",
}


def sources() -> list[Path]:
    return sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").glob("*.py"), ROOT / "app.py"])


def sizes() -> tuple[dict[str, int], dict[str, int]]:
    """Each module's lines and each function's (``path:name``, nested ones too)."""
    modules, functions = {}, {}
    for path in sources():
        text = path.read_text()
        name = path.relative_to(ROOT).as_posix()
        modules[name] = text.count("\n")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"{name}:{node.name}"
                functions[key] = max(functions.get(key, 0), node.end_lineno - node.lineno + 1)
    return modules, functions


def test_no_module_is_over_400_lines_but_those_listed():
    modules, _ = sizes()
    assert len(modules) > 100  # the scan sees the code
    long = {name: lines for name, lines in modules.items() if lines > MODULE_LINES}
    assert sorted(set(long) - set(LONG_MODULES)) == [], f"over {MODULE_LINES} lines: {long}; split it, or list it here with why"
    assert sorted(set(LONG_MODULES) - set(long)) == [], "no longer over the limit: remove it from LONG_MODULES"


def test_no_function_is_over_60_lines_but_those_listed():
    _, functions = sizes()
    long = {name: lines for name, lines in functions.items() if lines > FUNCTION_LINES}
    assert sorted(set(long) - set(LONG_FUNCTIONS)) == [], f"over {FUNCTION_LINES} lines: {long}; split it, or list it here with why"
    assert sorted(set(LONG_FUNCTIONS) - set(long)) == [], "no longer over the limit: remove it from LONG_FUNCTIONS"


def test_every_entry_says_why():
    for name, why in {**LONG_MODULES, **LONG_FUNCTIONS}.items():
        assert len(why) > 20, name
