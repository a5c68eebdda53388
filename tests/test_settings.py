"""Every ``TRAINPAD_*`` variable is declared once, in ``trainpad.settings``, read through it,
documented in ``docs/settings.md``, and refused with one message when its value is bad
(as datasette's ``test_config_options_are_documented`` keeps its options honest).

The expectations come from the code and the docs as they are: a setting added to
``core/settings.py`` needs only ``trainpad settings --markdown > docs/settings.md``
(and the contributors' section kept by hand).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

from source_reading import ROOT, VARIABLE, parse, product_files, string_constants, suite_files
from trainpad import cli, settings

PAGE = ROOT / "docs" / "settings.md"
CONTRIBUTORS = "## For contributors"
#: Text no setting accepts, tried in turn to find one a setting refuses.
BAD_VALUES = ("maybe", "-1", "0", "nan", "sometimes")


def names_in(text: str) -> set[str]:
    return set(VARIABLE.findall(text))


def matches_a_setting(name: str) -> bool:
    """A setting's name, or a family (``TRAINPAD_MAX_*``) that names at least one."""
    if name.endswith("_*"):
        return any(setting.startswith(name[:-1]) for setting in settings.SETTINGS)
    return name in settings.SETTINGS


def contributors_variables() -> set[str]:
    """The variables (not settings) that the contributors' section of docs/settings.md documents."""
    text = PAGE.read_text()
    assert CONTRIBUTORS in text, f"docs/settings.md has no {CONTRIBUTORS!r} section"
    return {name for name in names_in(text.split(CONTRIBUTORS, 1)[1]) if not matches_a_setting(name)}


def declarations() -> tuple[set[int], ast.Module]:
    """``core/settings.py`` parsed, and the ids of its string constants that declare a
    setting (the first argument of each ``Setting(...)``)."""
    tree = parse(ROOT / "core" / "settings.py")
    ids = {
        id(call.args[0])
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Setting" and call.args
    }
    return ids, tree


# -- the page -------------------------------------------------------------------------------


def test_docs_settings_md_is_what_trainpad_settings_markdown_prints():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["settings", "--markdown"]) == 0
    assert out.getvalue() == settings.markdown_page()
    page = PAGE.read_text()
    generated = page.split(CONTRIBUTORS, 1)[0].rstrip("\n") + "\n"
    assert generated == settings.markdown_page(), (
        "docs/settings.md is out of date: run `trainpad settings --markdown` and paste it above the contributors' section"
    )
    for name, setting in settings.SETTINGS.items():
        assert f"| `{name}` |" in generated and setting.help in generated


def test_every_setting_has_a_section_a_default_and_help():
    for name, setting in settings.SETTINGS.items():
        assert re.fullmatch(r"TRAINPAD_[A-Z0-9_]+", name) and setting.name == name
        assert setting.section in settings.sections() and setting.help.strip() and setting.accepts.strip()
        assert setting.read({}) == setting.default  # unset: the default


# -- the code ---------------------------------------------------------------------------------


def test_every_trainpad_variable_the_code_names_is_declared():
    named: dict[str, list[str]] = {}
    for path in product_files():
        for constant in string_constants(parse(path)):
            for name in names_in(constant.value):
                named.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{constant.lineno}")
    assert named, "no TRAINPAD_* variable found in the code: the scan is broken"
    undeclared = {name: where for name, where in named.items() if not matches_a_setting(name)}
    assert not undeclared, f"declare these in core/settings.py: {undeclared}"


def test_every_declared_setting_is_read_somewhere():
    declared, settings_tree = declarations()
    read: set[str] = set()
    for path in product_files():
        tree = settings_tree if path == ROOT / "core" / "settings.py" else parse(path)
        for constant in string_constants(tree):
            if id(constant) not in declared and constant.value in settings.SETTINGS:
                read.add(constant.value)
    from dataclasses import fields

    from trainpad.web.limits import Limits, setting_of

    read |= {setting_of(f.name) for f in fields(Limits)}  # the server's limits: a field each, named for its setting
    assert set(settings.SETTINGS) - read == set(), "declared but never read: delete them or use them"


def environment_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """``os.environ[...]``, ``os.environ.get(...)``, ``os.getenv(...)`` and ``... in os.environ``
    whose key is a string naming a TRAINPAD_ variable."""
    found = []

    def is_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (isinstance(node, ast.Name) and node.id == "environ")

    def key(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("TRAINPAD_"):
            return node.value
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_environ(node.value) and key(node.slice):
            found.append((node.lineno, key(node.slice)))
        elif isinstance(node, ast.Call) and node.args and key(node.args[0]):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault") and is_environ(func.value)) or (
                isinstance(func, ast.Attribute) and func.attr == "getenv"
            ):
                found.append((node.lineno, key(node.args[0])))
        elif isinstance(node, ast.Compare) and key(node.left) and any(is_environ(c) for c in node.comparators):
            found.append((node.lineno, key(node.left)))
    return found


def test_no_module_but_settings_reads_a_trainpad_variable_from_the_environment():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} reads {name}"
        for path in product_files()
        if path != ROOT / "core" / "settings.py"
        for line, name in environment_reads(parse(path))
    ]
    assert offenders == [], "read it with trainpad.settings.get(...):\n" + "\n".join(offenders)
    # the check sees what it looks for
    sample = 'import os\nos.environ.get("{0}")\nos.getenv("{0}")\nos.environ["{0}"]\n"{0}" in os.environ'
    assert len(environment_reads(ast.parse(sample.format("TRAINPAD_THREADS")))) == 4


# -- the docs ---------------------------------------------------------------------------------


def documents() -> list[Path]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").rglob("README.md"))]
    return pages + [ROOT / "bench" / "README.md", ROOT / "tests" / "plugins" / "README.md"]


def test_every_variable_the_docs_name_exists():
    test_only = contributors_variables()
    unknown = {
        f"{page.relative_to(ROOT)}: {name}"
        for page in documents()
        if page.exists()
        for name in names_in(page.read_text())
        if not matches_a_setting(name) and name not in test_only
    }
    assert not unknown, f"the docs name variables trainpad does not read: {sorted(unknown)}"


def test_the_variables_the_tests_read_are_documented_for_contributors():
    read = {
        name
        for path in suite_files()
        for constant in string_constants(parse(path))
        for name in names_in(constant.value)
        if not matches_a_setting(name)
    }
    assert read == contributors_variables(), (
        "docs/settings.md's contributors' section should list exactly the test suite's own variables"
    )


# -- one failure policy -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(settings.SETTINGS))
def test_a_bad_value_is_refused_naming_the_variable_the_value_and_what_is_accepted(name):
    setting = settings.SETTINGS[name]
    refused = [value for value in BAD_VALUES if _refuses(setting, value)]
    if not refused:  # free text: a path, a list of names
        assert setting.parse in (settings.path, settings.names), f"{name} accepts {BAD_VALUES}: is that meant?"
        return
    with pytest.raises(settings.SettingError) as caught:
        settings.check({name: refused[0]})
    assert str(caught.value) == f"{name}={refused[0]!r} is not accepted: use {setting.accepts}"


def _refuses(setting: settings.Setting, value: str) -> bool:
    try:
        setting.parse(value)
    except ValueError:
        return True
    return False


def test_check_names_every_bad_value_at_once():
    bad = {}
    for name, setting in settings.SETTINGS.items():
        value = next((v for v in BAD_VALUES if _refuses(setting, v)), None)
        if value is not None:
            bad[name] = value
    assert len(bad) >= 2
    with pytest.raises(settings.SettingError) as caught:
        settings.check(bad)
    for name, value in bad.items():
        assert f"{name}={value!r} is not accepted" in str(caught.value)


def test_the_cli_stops_with_exit_2_and_the_message(monkeypatch, capsys):
    name, setting = next((n, s) for n, s in settings.SETTINGS.items() if _refuses(s, "maybe"))
    monkeypatch.setenv(name, "maybe")
    assert cli.main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err == f"trainpad: error: {name}='maybe' is not accepted: use {setting.accepts}\n"
