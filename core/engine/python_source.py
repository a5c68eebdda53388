"""Parsing Python source in a server that does it from many threads at once.

Turning source into an AST, and an AST into code, is not safe from two threads at once on
CPython 3.11: its AST converter keeps a recursion depth per interpreter, not per thread, so
two requests doing it at the same moment (two sessions' loop views while their runs train)
failed with ``SystemError: AST constructor recursion depth mismatch``.  trainpad's parses
and compiles of ASTs go through :func:`parse_python` and :func:`compile_python`, one at a
time; both are quick, and what is read often (the script's skeleton) is parsed once.
"""

from __future__ import annotations

import ast
import threading
from types import CodeType

_PARSING = threading.Lock()


def parse_python(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time."""
    with _PARSING:
        return ast.parse(source)


def compile_python(node: ast.AST, filename: str, mode: str) -> CodeType:
    """``compile(node, filename, mode)`` of an AST, one thread at a time."""
    with _PARSING:
        return compile(node, filename, mode)


__all__ = ["compile_python", "parse_python"]
