"""Reading the project's own source and docs for the meta-tests (imports, settings, layers).

Everything here parses text with :mod:`ast` and regular expressions; nothing is imported
from the files read.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
#: A ``TRAINPAD_*`` name as code and docs write it; ``TRAINPAD_MAX_*`` (a family) keeps its ``*``.
VARIABLE = re.compile(r"TRAINPAD_[A-Z0-9_]*[A-Z0-9](?:_\*)?")


def product_files() -> list[Path]:
    """The Python files of what ships or is shown to users: core/, plugins/, app.py, examples/, bench/."""
    files = [ROOT / "app.py"]
    for folder in ("core", "plugins", "examples", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if "build" not in f.relative_to(ROOT).parts]


def suite_files() -> list[Path]:
    """The test suite's Python files."""
    return sorted((ROOT / "tests").rglob("*.py"))


def module_name(path: Path) -> str:
    """The installed dotted name of a file of core/ or plugins/ (``core/web/app.py`` -> ``trainpad.web.app``)."""
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    head = {"core": ["trainpad"], "plugins": ["trainpad", "plugins"]}[parts[0]]
    return ".".join(head + parts[1:])


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@dataclass(frozen=True)
class Imported:
    """One name an import statement brings in.

    :param module: the module imported from (``trainpad`` for ``from trainpad import Param``).
    :param name: the name taken from it, or ``None`` for ``import module``.
    :param type_only: inside ``if TYPE_CHECKING:`` (for annotations; never run).
    """

    module: str
    name: str | None
    line: int
    type_only: bool

    @property
    def targets(self) -> list[str]:
        """What it may refer to: the module, and ``module.name`` (``from trainpad import settings``)."""
        return [self.module] + ([f"{self.module}.{self.name}"] if self.name else [])

    def __str__(self) -> str:
        return f"line {self.line}: " + (f"from {self.module} import {self.name}" if self.name else f"import {self.module}")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.Module, package: str = "") -> list[Imported]:
    """Every import in ``tree``, at any depth (functions too); relative ones resolved against ``package``."""
    found: list[Imported] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for item in child.body:
                    visit_one(item, True)
                for item in child.orelse:
                    visit_one(item, type_only)
            else:
                visit_one(child, type_only)

    def visit_one(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Imported(alias.name, None, node.lineno, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            found.extend(Imported(module, alias.name, node.lineno, type_only) for alias in node.names)
        visit(node, type_only)

    visit(tree, False)
    return found


def python_blocks(markdown: Path) -> Iterator[tuple[int, str]]:
    """``(line, code)`` of each ```python block of a Markdown file."""
    text = markdown.read_text()
    for match in re.finditer(r"^```(?:python|py)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        yield text.count("\n", 0, match.start()) + 1, match.group(1)


def public_api_problems(tree: ast.Module, public: set[str], *, allowed_modules: tuple[str, ...] = ("trainpad.testing",)) -> list[str]:
    """What in ``tree`` reaches past trainpad's public face: ``from trainpad import X`` with X
    not in ``public``, any other ``trainpad.*`` module but ``allowed_modules``, the old ``core``
    names, and ``trainpad.X`` attributes that are not public."""
    problems = []
    for item in imports(tree):
        top = item.module.split(".")[0]
        if top == "core":
            problems.append(f"{item}: `core` was trainpad's old import name; import from `trainpad`")
        elif item.module == "trainpad":
            if item.name is not None and item.name not in public and f"trainpad.{item.name}" not in allowed_modules:
                problems.append(f"{item}: {item.name} is not in trainpad.__all__")
        elif top == "trainpad" and not any(item.module == m or item.module.startswith(m + ".") for m in allowed_modules):
            problems.append(f"{item}: {item.module} is not public; use `from trainpad import ...`")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "trainpad":
            if node.attr not in public and f"trainpad.{node.attr}" not in allowed_modules:
                problems.append(f"line {node.lineno}: trainpad.{node.attr} is not in trainpad.__all__")
    return problems


def string_constants(tree: ast.Module) -> Iterator[ast.Constant]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node
