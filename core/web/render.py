"""The web app's HTML fragments, rendered from templates with everything escaped.

Every fragment the server sends (the look inside a model, the Lab's pictures, the
confusion matrix, the plugin listing) is a Jinja template in ``trainpad/web/templates/``
(``core/web/templates/`` in the repository), rendered by :func:`render`.  Autoescape is
on for every template, so a value (a class name from a checkpoint, a plugin's
description, an experiment's label) reaches the page as the text it is; HTML that the
code built itself and means as HTML is passed as :class:`markupsafe.Markup`, with a
comment saying why.  An undefined value is an error, not an empty string.

Templates hold structure only: their words are rendered in the visitor's language by
:func:`~trainpad.web.i18n.tr` in Python, where ``tests/test_i18n.py`` finds their keys.
How the fragments look is the page's stylesheet, :data:`CSS_FILE`, served once with it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

#: Where the templates are.
TEMPLATES = Path(__file__).with_name("templates")
#: The page's one stylesheet: the app's look and every fragment's (``launch(css_paths=...)``).
CSS_FILE = Path(__file__).with_name("static") / "trainpad.css"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one template environment: autoescape everywhere, undefined values refused."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, /, **values: Any) -> str:
    """The template ``name`` (in :data:`TEMPLATES`) rendered with ``values``, escaped."""
    return environment().get_template(name).render(**values)


__all__ = ["CSS_FILE", "TEMPLATES", "environment", "render"]
